package config

// Spool configures the spool folder (<data_dir>/spool), where calls wait
// to be stored.
type Spool struct {
	// ReserveMB is the free space, in MiB, that audio never takes: below
	// it a call is not recorded ("not recorded: disk full" in its
	// manifest), so that manifests, the evidence of each call's notice
	// and consent, can still be written. Default 64.
	ReserveMB int `yaml:"reserve_mb"`
}

// DefaultSpoolReserveMB is spool.reserve_mb's default.
const DefaultSpoolReserveMB = 64

func (c *Config) checkSpool(r *report) {
	s := &c.Spool
	switch {
	case s.ReserveMB == 0:
		s.ReserveMB = DefaultSpoolReserveMB
	case s.ReserveMB < 0 || s.ReserveMB > 1<<20:
		r.add("spool.reserve_mb", "%d is not a size in MiB from 1 to 1048576", s.ReserveMB)
	}
}

// SpoolReserve is spool.reserve_mb in bytes.
func (c *Config) SpoolReserve() uint64 { return uint64(c.Spool.ReserveMB) << 20 } //nolint:gosec // validated positive
