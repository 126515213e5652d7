package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// sealedSpool is a spool with a keyring.
func sealedSpool(t testing.TB) *Dir {
	t.Helper()
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := crypt.NewKeyring("m1", map[string][]byte{"m1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	d.SetKeys(keys)
	return d
}

// pattern is stereo PCM no sealed file can hold in the clear: a frame
// counter on both channels.
func pattern(frames int) []byte {
	b := make([]byte, 4*frames)
	for i := range frames {
		binary.LittleEndian.PutUint16(b[4*i:], uint16(i|0x4000))
		binary.LittleEndian.PutUint16(b[4*i+2:], uint16(i|0x2000))
	}
	return b
}

// recordPCM writes pcm to call id's sealed audio in writes of chunk bytes
// and returns the writer, not finished.
func recordPCM(t *testing.T, d *Dir, id string, pcm []byte, chunk int) *SealedWriter {
	t.Helper()
	a, err := d.NewAudio(id, "", 8000, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := a.Create()
	if err != nil {
		t.Fatal(err)
	}
	for p := pcm; len(p) > 0; {
		n := min(chunk, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := a.Kept(); err != nil {
		t.Fatal(err)
	}
	return w
}

func readAudio(t *testing.T, d *Dir, id string) []byte {
	t.Helper()
	r, size, err := d.OpenAudio(id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != size {
		t.Errorf("read %d bytes, size says %d", len(b), size)
	}
	return b
}

// TestSealedAudio: what is written reads back as the WAV the recorder's
// file used to be, byte for byte, with the size and checksum Finish
// says; the file on the disk holds neither the PCM nor a WAV header.
func TestSealedAudio(t *testing.T) {
	d := sealedSpool(t)
	pcm := pattern(8000 * 3)
	w := recordPCM(t, d, "c1", pcm, 6400)
	n, size, sum, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	want := append(wav.Header(8000, 2, int64(len(pcm))), pcm...)
	wantSum := sha256.Sum256(want)
	if n != int64(len(pcm)) || size != int64(len(want)) || sum != hex.EncodeToString(wantSum[:]) {
		t.Errorf("Finish: %d PCM bytes, WAV %d bytes sha %s; want %d, %d, %x", n, size, sum, len(pcm), len(want), wantSum)
	}
	if got := readAudio(t, d, "c1"); !bytes.Equal(got, want) {
		t.Errorf("read back %d bytes, not the %d-byte WAV written", len(got), len(want))
	}
	disk, err := os.ReadFile(d.SealedPath("c1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(disk, []byte("RIFF")) || bytes.Contains(disk, []byte("WAVE")) || bytes.Contains(disk, pcm[4000:4032]) {
		t.Error("the sealed file holds a WAV header or PCM in the clear")
	}
	// Seek and read a range that crosses records.
	r, _, err := d.OpenAudio("c1")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Seek(6390+44, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 30)
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, pcm[6390:6420]) {
		t.Errorf("range across records: %v, got %x want %x", err, got, pcm[6390:6420])
	}
}

// TestSealedAudioRefused: a file cut after its end record, one whose
// byte was changed, one with a record dropped, one not finished and one
// opened under another key are each refused with the error that says so.
func TestSealedAudioRefused(t *testing.T) {
	d := sealedSpool(t)
	pcm := pattern(8000)
	if _, _, _, err := recordPCM(t, d, "c1", pcm, 6400).Finish(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(d.SealedPath("c1"))
	rec := recordHeader + 6400 + recordTag
	flip := append([]byte(nil), good...)
	flip[sealedHeader+recordHeader+10] ^= 1
	dropped := append(append([]byte(nil), good[:sealedHeader]...), good[sealedHeader+rec:]...)
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"cut after the end", good[:len(good)-3], ErrUnfinished},
		{"a byte changed", flip, ErrSealedCorrupt},
		{"a record dropped", dropped, ErrSealedCorrupt},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0, 0, 0), ErrSealedCorrupt},
		{"header only", good[:sealedHeader], ErrUnfinished},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(d.SealedPath("c1"), c.b, 0o600)
			r, _, err := d.OpenAudio("c1")
			if err == nil {
				_, err = io.ReadAll(r)
				r.Close()
			}
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
	os.WriteFile(d.SealedPath("c1"), good, 0o600)
	other := sealedSpool(t)
	k, _ := d.ReadUploadKey("c1")
	if err := other.WriteUploadKey("c1", k); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(other.SealedPath("c1"), good, 0o600)
	other.SetKeys(mustKeyring(t, 8))
	if _, _, err := other.OpenAudio("c1"); !errors.Is(err, crypt.ErrWrongKey) {
		t.Errorf("under another master key: %v, want ErrWrongKey", err)
	}
}

func mustKeyring(t testing.TB, b byte) *crypt.Keyring {
	t.Helper()
	k, err := crypt.NewKeyring("m1", map[string][]byte{"m1": bytes.Repeat([]byte{b}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRecoverSealed: a call killed while it was recorded, its file ending
// in part of a record, is repaired by Recover to the whole records before
// it, spooled and cut short, with the manifest's size and checksum those
// of the WAV it reads back as; a second Recover changes nothing.
func TestRecoverSealed(t *testing.T) {
	for _, c := range []struct {
		name string
		tail func(b []byte) []byte
		keep int // whole records kept
		cut  bool
	}{
		{"torn record", func(b []byte) []byte { return b[:len(b)-100] }, 4, true},
		{"zeros after the records", func(b []byte) []byte { return append(b, make([]byte, 9000)...) }, 5, true},
		{"cut at a record's end", func(b []byte) []byte { return b }, 5, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := sealedSpool(t)
			pcm := pattern(1600 * 5) // 5 records of 6400 bytes
			w := recordPCM(t, d, "c1", pcm, 6400)
			w.f.Close() // killed: no end record
			b, _ := os.ReadFile(d.SealedPath("c1"))
			os.WriteFile(d.SealedPath("c1"), c.tail(b), 0o600)
			m := &Manifest{ID: "c1", State: StateActive, StartedAt: time.Now().UTC(),
				Recording: &Recording{File: "c1" + SealedExt, Format: RecordingFormat}}
			if err := d.WriteManifest(m); err != nil {
				t.Fatal(err)
			}
			if _, _, err := d.OpenAudio("c1"); !errors.Is(err, ErrUnfinished) && !errors.Is(err, ErrSealedCorrupt) {
				t.Fatalf("before the repair: %v, want ErrUnfinished or ErrSealedCorrupt", err)
			}
			rs, err := d.Recover()
			if err != nil || len(rs) != 1 || !rs[0].Repaired || rs[0].Err != nil {
				t.Fatalf("Recover: %+v, %v", rs, err)
			}
			got, _ := d.ReadManifest("c1")
			kept := pcm[:c.keep*6400]
			want := append(wav.Header(8000, 2, int64(len(kept))), kept...)
			sum := sha256.Sum256(want)
			if r := got.Recording; got.State != StateSpooled || !r.CutShort || r.Size != int64(len(want)) || r.SHA256 != hex.EncodeToString(sum[:]) ||
				r.Duration != float64(len(kept))/32000 || (r.Error != "") != c.cut {
				t.Errorf("manifest: state %q recording %+v; want spooled, cut short, %d bytes", got.State, r, len(want))
			}
			if b := readAudio(t, d, "c1"); !bytes.Equal(b, want) {
				t.Errorf("repaired audio: %d bytes, want the %d of the whole records", len(b), len(want))
			}
			before, _ := os.ReadFile(d.SealedPath("c1"))
			if pcm, cut, err := repairSealed(d.SealedPath("c1"), mustData(t, d, "c1")); err != nil || cut != 0 || pcm != int64(len(kept)) {
				t.Errorf("repair again: %d, %d, %v", pcm, cut, err)
			}
			if after, _ := os.ReadFile(d.SealedPath("c1")); !bytes.Equal(before, after) {
				t.Error("a second repair changed the finished file")
			}
		})
	}
}

func mustData(t *testing.T, d *Dir, id string) []byte {
	t.Helper()
	k, err := d.dataKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealedWriteFails: a write the disk refuses leaves the records
// before it; Finish cuts what the failed write left and finishes the file
// with them.
func TestSealedWriteFails(t *testing.T) {
	d := sealedSpool(t)
	pcm := pattern(3200)
	w := recordPCM(t, d, "c1", pcm[:6400], 6400)
	// A torn record from a write the disk cut short.
	w.f.Write([]byte{0, 0, 0x19, 0, 1, 2, 3})
	w.broken = errors.New("no space left on device")
	if _, err := w.Write(pcm[6400:]); err == nil {
		t.Error("a write after a failed one succeeded")
	}
	n, size, _, err := w.Finish()
	if err != nil || n != 6400 || size != 6400+44 {
		t.Fatalf("Finish: %d PCM bytes, %d WAV bytes, %v; want 6400, 6444", n, size, err)
	}
	if b := readAudio(t, d, "c1"); !bytes.Equal(b[44:], pcm[:6400]) {
		t.Error("the records before the failed write are not what was written")
	}
}

// TestNewAudioNeedsKeys: a spool without keys, or a client whose keys
// were destroyed, seals nothing, and says why.
func TestNewAudioNeedsKeys(t *testing.T) {
	d, _ := Open(t.TempDir())
	if _, err := d.NewAudio("c1", "", 8000, nil); !errors.Is(err, ErrNoKeys) {
		t.Errorf("no keys: %v, want ErrNoKeys", err)
	}
	k := mustKeyring(t, 1)
	k.MarkDestroyed("acme")
	d.SetKeys(k)
	if _, err := d.NewAudio("c1", "acme", 8000, nil); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("destroyed client: %v, want ErrKeyDestroyed", err)
	}
	if _, err := os.Stat(d.keyPath("c1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file was written: %v", err)
	}
}

// TestSealedTemp: what is written, with a seek back to rewrite the start
// as an encoder fixing its header does, reads back as written; the file
// holds none of it in the clear, and every chunk written again was
// sealed under a new nonce.
func TestSealedTemp(t *testing.T) {
	d := sealedSpool(t)
	tmp, err := d.CreateSealedTemp("c1.encoded.*")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Remove()
	want := pattern(50000) // 200 kB: four chunks
	for p := want; len(p) > 0; p = p[min(999, len(p)):] {
		if _, err := tmp.Write(p[:min(999, len(p))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tmp.Flush(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(tmp.Name())
	head := []byte("fLaC header fixed at the end")
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	tmp.Write(head)
	if _, err := tmp.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	copy(want, head)
	disk, _ := os.ReadFile(tmp.Name())
	if bytes.Contains(disk, head) || bytes.Contains(disk, want[100000:100032]) {
		t.Error("the temporary holds what was written in the clear")
	}
	if bytes.Equal(disk[:tempNonce], before[:tempNonce]) {
		t.Error("the first chunk, written again, kept its nonce")
	}
	r, err := tmp.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) || r.Size() != int64(len(want)) {
		t.Errorf("read back %d bytes (%v), size %d; want the %d written", len(got), err, r.Size(), len(want))
	}
	disk[tempStride+100] ^= 1
	os.WriteFile(tmp.Name(), disk, 0o600)
	r2, _ := tmp.Open()
	defer r2.Close()
	if _, err := io.ReadAll(r2); !errors.Is(err, ErrSealedCorrupt) {
		t.Errorf("a changed chunk: %v, want ErrSealedCorrupt", err)
	}
}

// TestSealedEndRefused: when the disk refuses the end record, Finish
// still says the size and checksum of the whole records' WAV (with the
// error); FinishAudio then finishes the file to exactly that WAV.
func TestSealedEndRefused(t *testing.T) {
	d := sealedSpool(t)
	pcm := pattern(1600 * 3)
	w := recordPCM(t, d, "c1", pcm, 6400)
	w.f.Close() // every write from now fails, as on a full disk
	n, size, sum, err := w.Finish()
	want := append(wav.Header(8000, 2, int64(len(pcm))), pcm...)
	wantSum := sha256.Sum256(want)
	if err == nil || n != int64(len(pcm)) || size != int64(len(want)) || sum != hex.EncodeToString(wantSum[:]) {
		t.Fatalf("Finish: %d, %d, %s, %v; want an error and the %d-byte WAV's size and checksum", n, size, sum, err, len(want))
	}
	if _, _, err := d.OpenAudio("c1"); !errors.Is(err, ErrUnfinished) {
		t.Fatalf("open before FinishAudio: %v, want ErrUnfinished", err)
	}
	if err := d.FinishAudio("c1"); err != nil {
		t.Fatal(err)
	}
	if got := readAudio(t, d, "c1"); !bytes.Equal(got, want) {
		t.Errorf("after FinishAudio: %d bytes, want the %d-byte WAV Finish described", len(got), len(want))
	}
	if err := d.FinishAudio("nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FinishAudio of no audio: %v, want ErrNotExist", err)
	}
}

// TestSealedFinishTakesASyncSlot: while every sync slot is taken (as by
// closing fsyncs held at a stalled disk), a recording is created and
// written, but its finish waits for a slot rather than holding another
// OS thread in the kernel, and goes on once one frees.
func TestSealedFinishTakesASyncSlot(t *testing.T) {
	d := sealedSpool(t)
	a, err := d.NewAudio("c1", "", 8000, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range maxSyncs {
		syncSlots <- struct{}{}
	}
	free := func() {
		for range maxSyncs {
			<-syncSlots
		}
	}
	w, err := a.Create()
	if err != nil {
		free()
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(1600)); err != nil {
		free()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := w.Finish()
		done <- err
	}()
	select {
	case err := <-done:
		free()
		t.Fatalf("the recording finished (%v) with every sync slot taken", err)
	case <-time.After(200 * time.Millisecond):
	}
	free()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the recording did not finish once the slots were free")
	}
	if err := a.Kept(); err != nil {
		t.Fatal(err)
	}
	if got := readAudio(t, d, "c1"); len(got) != 44+1600*4 {
		t.Errorf("read back %d bytes, want the 44-byte header and 6,400 of PCM", len(got))
	}
}
