package spool

// The sealed spool audio format: a call's PCM as the recorder flushes it,
// each flush sealed with the call's data key as it is written, so that
// the spool never holds a recording in the clear.
//
//	header:  "KRS1" | rate (uint32 BE) | channels (uint16 BE) | bits (uint16 BE) | nonce prefix (8 bytes)
//	records: length (uint32 BE; top bit set on the end record) | AES-256-GCM ciphertext | 16-byte tag
//
// Record i's nonce is the prefix followed by i (uint32 BE), the end
// record's by i with its top bit set; every record's additional data is
// the header, i and whether it is the end record, so records cannot be
// moved, dropped or taken from another file. The end record holds the
// number of PCM bytes before it (uint64 BE): a file that has it was
// finished, and one cut after it is caught. Records are only appended and
// a record's place is never sealed twice with other bytes: a repair cuts
// a torn tail and seals the end record under its own nonce. The WAV
// header is not in the file; a reader makes it from the PCM's length.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

const (
	sealedMagic  = "KRS1"
	sealedHeader = 4 + 4 + 2 + 2 + 8
	recordHeader = 4
	recordTag    = 16
	endFlag      = 1 << 31
	// maxRecord bounds a record's PCM: a write larger is split. The
	// recorder's flushes are far smaller (its ring holds one second).
	maxRecord   = 1 << 20
	dataKeySize = 32
)

// ErrSealedCorrupt is wrapped by the errors of a sealed spool file that
// fails authentication or is not laid out as this package writes it.
var ErrSealedCorrupt = errors.New("sealed spool audio is corrupt or was altered")

// ErrUnfinished is wrapped by the error of opening a sealed spool file
// that has no end record: its writer was interrupted (Recover repairs it).
var ErrUnfinished = errors.New("sealed spool audio was not finished")

// sealedFile holds what writer, reader and repair share.
type sealedFile struct {
	aead          cipher.AEAD
	hdr           [sealedHeader]byte
	rate, chans   int
	nonce, aadBuf []byte
}

func newSealedFile(key []byte, hdr []byte) (*sealedFile, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealed audio: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed audio: %w", err)
	}
	s := &sealedFile{aead: aead, nonce: make([]byte, 12), aadBuf: make([]byte, sealedHeader+5)}
	copy(s.hdr[:], hdr)
	if string(s.hdr[:4]) != sealedMagic {
		return nil, fmt.Errorf("%w: not a sealed Kiroku spool file", ErrSealedCorrupt)
	}
	be := binary.BigEndian
	s.rate, s.chans = int(be.Uint32(s.hdr[4:])), int(be.Uint16(s.hdr[8:]))
	if bits := be.Uint16(s.hdr[10:]); bits != 16 || s.rate <= 0 || s.chans <= 0 {
		return nil, fmt.Errorf("%w: header declares %d Hz, %d channels of %d bits", ErrSealedCorrupt, s.rate, s.chans, bits)
	}
	copy(s.nonce, s.hdr[12:20])
	copy(s.aadBuf, s.hdr[:])
	return s, nil
}

// at sets the nonce and additional data of record i (the end record when
// end) and returns them.
func (s *sealedFile) at(i uint32, end bool) (nonce, aad []byte) {
	n := i
	s.aadBuf[sealedHeader+4] = 0
	if end {
		n |= endFlag
		s.aadBuf[sealedHeader+4] = 1
	}
	binary.BigEndian.PutUint32(s.nonce[8:], n)
	binary.BigEndian.PutUint32(s.aadBuf[sealedHeader:], i)
	return s.nonce, s.aadBuf
}

// endRecord is record i sealed as the end record after pcm bytes.
func (s *sealedFile) endRecord(i uint32, pcm int64) []byte {
	var plain [8]byte
	binary.BigEndian.PutUint64(plain[:], uint64(pcm))
	b := make([]byte, recordHeader, recordHeader+8+recordTag)
	binary.BigEndian.PutUint32(b, 8|endFlag)
	nonce, aad := s.at(i, true)
	return s.aead.Seal(b, nonce, plain[:], aad)
}

// syncSlots bounds the fsyncs that close recordings at once: each one
// holds an OS thread in the kernel until the file's pages are on the
// disk, and in a storm the calls ending together took kirokud to 245
// threads. Past the bound a recording's closing goroutine parks for a
// slot instead. The recorders' writes are not bounded: the kernel paces
// each writer at the disk's dirty-page limit by itself, so a bound on the
// writers bounds the audio written a second, and with 16 slots shared
// with these fsyncs a storm's ending starved the calls still up: 116 of
// 733 recordings lost audio past their rings.
var syncSlots = make(chan struct{}, maxSyncs)

// maxSyncs is how many recordings' closing fsyncs run at once.
const maxSyncs = 16

// syncSlot waits for a slot and returns its release.
func syncSlot() func() {
	syncSlots <- struct{}{}
	return func() { <-syncSlots }
}

// recordBufs are the buffers records are sealed into: one is needed
// only while a flush writes, so the calls share them rather than each
// keeping one the size of its largest flush (6.4 KB a narrowband call).
var recordBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// SealedWriter appends a call's PCM to its sealed spool file, one record
// per Write.
type SealedWriter struct {
	f      *os.File
	s      *sealedFile
	key    []byte
	path   string
	index  uint32 // records written
	off    int64  // end of the last whole record
	pcm    int64  // PCM bytes in whole records
	broken error  // a write that failed: the file may end in part of a record
	done   bool
}

// createSealed creates the sealed spool file at path for PCM at rate Hz
// in chans 16-bit channels, sealed with key.
func createSealed(path string, key []byte, rate, chans int) (*SealedWriter, error) {
	var hdr [sealedHeader]byte
	copy(hdr[:], sealedMagic)
	binary.BigEndian.PutUint32(hdr[4:], uint32(rate))
	binary.BigEndian.PutUint16(hdr[8:], uint16(chans))
	binary.BigEndian.PutUint16(hdr[10:], 16)
	if _, err := rand.Read(hdr[12:]); err != nil {
		return nil, fmt.Errorf("create sealed audio: nonce: %w", err)
	}
	s, err := newSealedFile(key, hdr[:])
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	if _, err := f.Write(hdr[:]); err != nil {
		return nil, errors.Join(fmt.Errorf("create recording: %w", err), f.Close(), os.Remove(path))
	}
	return &SealedWriter{f: f, s: s, key: key, path: path, off: sealedHeader}, nil
}

// Write seals p (interleaved 16-bit PCM) into records appended to the
// file. A write that fails leaves the file's whole records as they were:
// it returns 0 and every later Write fails.
func (w *SealedWriter) Write(p []byte) (int, error) {
	switch {
	case w.done:
		return 0, errors.New("write sealed audio: finished")
	case w.broken != nil:
		return 0, w.broken
	}
	bp := recordBufs.Get().(*[]byte)
	defer recordBufs.Put(bp)
	n := 0
	for len(p) > 0 {
		part := p[:min(len(p), maxRecord)]
		if w.pcm+int64(len(part)) > wav.MaxData {
			return n, fmt.Errorf("write sealed audio: %d bytes would pass the 4 GiB limit of WAV", w.pcm+int64(len(part)))
		}
		if w.index >= endFlag-1 {
			return n, errors.New("write sealed audio: too many records")
		}
		buf := binary.BigEndian.AppendUint32((*bp)[:0], uint32(len(part)))
		nonce, aad := w.s.at(w.index, false)
		buf = w.s.aead.Seal(buf, nonce, part, aad)
		*bp = buf
		if _, err := w.f.Write(buf); err != nil {
			w.broken = fmt.Errorf("write sealed audio: %w", err)
			return n, w.broken
		}
		w.index++
		w.off += int64(len(buf))
		w.pcm += int64(len(part))
		n += len(part)
		p = p[len(part):]
	}
	return n, nil
}

// Finish seals the end record after the whole records written (cutting
// off part of one a failed write left), syncs and closes the file, and
// returns the PCM bytes it holds and the size and SHA-256 of the WAV file
// it reads back as (OpenAudio). Calling it again returns the same.
func (w *SealedWriter) Finish() (pcm, wavSize int64, sum string, err error) {
	var ferr error
	if !w.done {
		w.done = true
		ferr = w.finish()
		if cerr := w.f.Close(); ferr == nil && cerr != nil {
			ferr = fmt.Errorf("close sealed audio: %w", cerr)
		}
	}
	// When the end record could not be written (a full disk), the whole
	// records still say what the audio is: the WAV they read back as once
	// the file is finished (FinishAudio, or Recover).
	r, err := openSealedAs(w.path, w.key, ferr != nil)
	if err != nil {
		return w.pcm, 0, "", errors.Join(ferr, err)
	}
	defer r.Close()
	size, sum, err := hashReader(r)
	return w.pcm, size, sum, errors.Join(ferr, err)
}

func (w *SealedWriter) finish() error {
	if w.broken != nil {
		if err := w.f.Truncate(w.off); err != nil {
			return fmt.Errorf("finish sealed audio: cut a torn record: %w", err)
		}
		if _, err := w.f.Seek(w.off, io.SeekStart); err != nil {
			return fmt.Errorf("finish sealed audio: %w", err)
		}
	}
	if _, err := w.f.Write(w.s.endRecord(w.index, w.pcm)); err != nil {
		return fmt.Errorf("finish sealed audio: %w", err)
	}
	release := syncSlot()
	defer release()
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("finish sealed audio: %w", err)
	}
	return nil
}

// record is where one data record lies in a sealed file.
type record struct {
	plain int64 // offset of its PCM in the WAV's data
	off   int64 // offset of its length field in the file
	n     int   // PCM bytes
}

// SealedReader reads a finished sealed spool file as the WAV file it
// holds: the canonical 44-byte header, then the PCM. It opens records
// as they are read; one that fails authentication fails the read.
type SealedReader struct {
	f    *os.File
	s    *sealedFile
	recs []record
	hdr  []byte
	size int64 // of the WAV
	pos  int64
	cur  int // index of the record in plain, -1 for none
	ct   []byte
	pt   []byte
}

// openSealed opens the sealed file at path with key; a file with no end
// record is ErrUnfinished.
func openSealed(path string, key []byte) (*SealedReader, error) {
	return openSealedAs(path, key, false)
}

// openSealedAs is openSealed, or, unfinished, reads a file whose end
// record is missing as its whole records.
func openSealedAs(path string, key []byte, unfinished bool) (*SealedReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open sealed audio: %w", err)
	}
	r, err := readSealed(f, key, unfinished)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open sealed audio %s: %w", path, err)
	}
	return r, nil
}

func readSealed(f *os.File, key []byte, unfinished bool) (*SealedReader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var hdr [sealedHeader]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrSealedCorrupt, err)
	}
	s, err := newSealedFile(key, hdr[:])
	if err != nil {
		return nil, err
	}
	r := &SealedReader{f: f, s: s, cur: -1}
	var lb [recordHeader]byte
	var plain int64
	for off, i := int64(sealedHeader), uint32(0); ; i++ {
		var l uint32
		_, err := f.ReadAt(lb[:], off)
		if err == nil {
			l = binary.BigEndian.Uint32(lb[:])
		}
		n := int64(l &^ endFlag)
		next := off + recordHeader + n + recordTag
		switch {
		case unfinished && (err != nil || n == 0 || n > maxRecord || next > fi.Size() || l&endFlag != 0):
			// The whole records, up to where the writer stopped.
			r.hdr = wav.Header(s.rate, s.chans, plain)
			r.size = int64(len(r.hdr)) + plain
			return r, nil
		case off == fi.Size():
			return nil, fmt.Errorf("%w: %d records and no end record", ErrUnfinished, i)
		case err != nil:
			return nil, fmt.Errorf("%w: record %d at %d cut short", ErrUnfinished, i, off)
		case n > maxRecord || n == 0:
			return nil, fmt.Errorf("%w: record %d at %d declares %d bytes", ErrSealedCorrupt, i, off, n)
		case next > fi.Size():
			return nil, fmt.Errorf("%w: record %d at %d cut short", ErrUnfinished, i, off)
		}
		if l&endFlag == 0 {
			r.recs = append(r.recs, record{plain: plain, off: off, n: int(n)})
			plain += n
			off = next
			continue
		}
		b := make([]byte, n+recordTag)
		if _, err := f.ReadAt(b, off+recordHeader); err != nil {
			return nil, fmt.Errorf("%w: end record: %v", ErrSealedCorrupt, err)
		}
		nonce, aad := s.at(i, true)
		pt, err := s.aead.Open(nil, nonce, b, aad)
		if err != nil || len(pt) != 8 {
			return nil, fmt.Errorf("%w: end record %d does not open", ErrSealedCorrupt, i)
		}
		if got := int64(binary.BigEndian.Uint64(pt)); got != plain {
			return nil, fmt.Errorf("%w: end record says %d bytes of audio, the records hold %d", ErrSealedCorrupt, got, plain)
		}
		if next != fi.Size() {
			return nil, fmt.Errorf("%w: %d bytes after the end record", ErrSealedCorrupt, fi.Size()-next)
		}
		if plain > wav.MaxData || plain%int64(2*s.chans) != 0 {
			return nil, fmt.Errorf("%w: %d bytes of audio are not whole frames of a WAV file", ErrSealedCorrupt, plain)
		}
		r.hdr = wav.Header(s.rate, s.chans, plain)
		r.size = int64(len(r.hdr)) + plain
		return r, nil
	}
}

// Size is the size of the WAV file.
func (r *SealedReader) Size() int64 { return r.size }

// Read reads the WAV file.
func (r *SealedReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.pos < int64(len(r.hdr)) {
		n := copy(p, r.hdr[r.pos:])
		r.pos += int64(n)
		return n, nil
	}
	at := r.pos - int64(len(r.hdr))
	i := r.cur
	if i < 0 || at < r.recs[i].plain || at >= r.recs[i].plain+int64(r.recs[i].n) {
		i = sort.Search(len(r.recs), func(j int) bool { return r.recs[j].plain+int64(r.recs[j].n) > at })
		if err := r.open(i); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.pt[at-r.recs[i].plain:])
	r.pos += int64(n)
	return n, nil
}

// open decrypts record i into pt.
func (r *SealedReader) open(i int) error {
	rec := r.recs[i]
	r.cur = -1
	need := rec.n + recordTag
	if cap(r.ct) < need {
		r.ct = make([]byte, need)
	}
	ct := r.ct[:need]
	if _, err := r.f.ReadAt(ct, rec.off+recordHeader); err != nil {
		return fmt.Errorf("read sealed audio record %d: %w", i, err)
	}
	nonce, aad := r.s.at(uint32(i), false)
	pt, err := r.s.aead.Open(r.pt[:0], nonce, ct, aad)
	if err != nil {
		return fmt.Errorf("%w: record %d does not open", ErrSealedCorrupt, i)
	}
	r.pt, r.cur = pt, i
	return nil
}

// Seek sets the offset of the next Read in the WAV file.
func (r *SealedReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, fmt.Errorf("seek sealed audio: whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek sealed audio: offset %d before the start", offset)
	}
	r.pos = offset
	return offset, nil
}

// Close closes the file.
func (r *SealedReader) Close() error { return r.f.Close() }

// repairSealed makes the sealed file at path, whose writer was
// interrupted, a finished one: it keeps every record up to the first that
// is cut short or does not open, cuts what follows, seals the end record
// after them and syncs the file. It returns the PCM bytes kept and the
// bytes cut; a file already finished is left as it is. A file too short
// to hold its header is ErrUnfinished, with nothing kept.
func repairSealed(path string, key []byte) (pcm, cut int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("repair sealed audio: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("repair sealed audio: %w", cerr)
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("repair sealed audio: %w", err)
	}
	var hdr [sealedHeader]byte
	if n, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, 0, fmt.Errorf("repair sealed audio %s: %w: %d bytes, the header needs %d", path, ErrUnfinished, n, sealedHeader)
	}
	s, err := newSealedFile(key, hdr[:])
	if err != nil {
		return 0, 0, fmt.Errorf("repair sealed audio %s: %w", path, err)
	}
	frame := int64(2 * s.chans)
	off, i := int64(sealedHeader), uint32(0)
	var lb [recordHeader]byte
	var b []byte
	for {
		if _, err := f.ReadAt(lb[:], off); err != nil {
			break
		}
		l := binary.BigEndian.Uint32(lb[:])
		n := int64(l &^ endFlag)
		if n == 0 || n > maxRecord || off+recordHeader+n+recordTag > fi.Size() {
			break
		}
		b = append(b[:0], make([]byte, n+recordTag)...)
		if _, err := f.ReadAt(b, off+recordHeader); err != nil {
			break
		}
		nonce, aad := s.at(i, l&endFlag != 0)
		pt, err := s.aead.Open(b[:0], nonce, b, aad)
		if err != nil {
			break
		}
		if l&endFlag != 0 {
			if len(pt) == 8 && int64(binary.BigEndian.Uint64(pt)) == pcm && off+recordHeader+n+recordTag == fi.Size() {
				return pcm, 0, nil // finished already
			}
			break
		}
		if n%frame != 0 || pcm+n > wav.MaxData {
			break
		}
		off += recordHeader + n + recordTag
		pcm += n
		i++
	}
	cut = fi.Size() - off
	if err := f.Truncate(off); err != nil {
		return 0, 0, fmt.Errorf("repair sealed audio %s: cut after the last whole record: %w", path, err)
	}
	if _, err := f.WriteAt(s.endRecord(i, pcm), off); err != nil {
		return 0, 0, fmt.Errorf("repair sealed audio %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("repair sealed audio %s: %w", path, err)
	}
	return pcm, cut, nil
}
