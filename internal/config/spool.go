package config

// Spool configures the spool folder (<data_dir>/spool), where calls wait
// to be stored.
type Spool struct {
	// ReserveMB is the free space, in MiB, that audio never takes: below
	// it a call is not recorded ("not recorded: disk full" in its
	// manifest), so that manifests, the evidence of each call's notice
	// and consent, can still be written. Default 64.
	ReserveMB int `yaml:"reserve_mb"`
	// BallastKB is room, in KiB, the spool holds back in a file of its
	// own for final manifests: given up when the disk refuses one (full
	// to the last byte), made again once there is room, so a call's
	// ending is on the disk rather than only in memory. Default 1024;
	// -1 keeps none.
	BallastKB int `yaml:"ballast_kb"`
}

// DefaultSpoolBallastKB is spool.ballast_kb's default.
const DefaultSpoolBallastKB = 1024

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
	switch {
	case s.BallastKB == 0:
		s.BallastKB = DefaultSpoolBallastKB
	case s.BallastKB < -1 || s.BallastKB > 1<<20:
		r.add("spool.ballast_kb", "%d is not a size in KiB from 1 to 1048576, or -1 for none", s.BallastKB)
	}
}

// SpoolBallast is spool.ballast_kb in bytes (0 for none).
func (c *Config) SpoolBallast() int64 {
	switch kb := c.Spool.BallastKB; {
	case kb == 0:
		return DefaultSpoolBallastKB << 10
	case kb < 0:
		return 0
	default:
		return int64(kb) << 10
	}
}

// SpoolReserve is spool.reserve_mb in bytes.
func (c *Config) SpoolReserve() uint64 { return uint64(c.Spool.ReserveMB) << 20 } //nolint:gosec // validated positive
