package config

import (
	"time"

	"github.com/robfig/cron/v3"
)

// RetentionJob configures the purge of recordings past their retention.
type RetentionJob struct {
	// Schedule is a cron spec (5 fields, or @hourly, @daily, @every 1h…);
	// default "@hourly". "" after defaults is impossible; use a far
	// schedule to slow it down, never to turn privacy off.
	Schedule string `yaml:"schedule"`
	TimeZone string `yaml:"time_zone"` // default Asia/Tokyo
	// OrphanGrace is how old an object with no catalog row must be before
	// the orphan sweep reports it; DeleteOrphans deletes them too.
	OrphanGrace   Duration       `yaml:"orphan_grace"`
	DeleteOrphans bool           `yaml:"delete_orphans"`
	Location      *time.Location `yaml:"-"`
}

// Defaults of the retention job.
const (
	DefaultPurgeSchedule = "@hourly"
	DefaultTimeZone      = "Asia/Tokyo"
	DefaultOrphanGrace   = Duration(24 * time.Hour)
)

func (c *Config) checkRetentionJob(r *report) {
	j := &c.Retention
	if j.Schedule == "" {
		j.Schedule = DefaultPurgeSchedule
	}
	if j.TimeZone == "" {
		j.TimeZone = DefaultTimeZone
	}
	if j.OrphanGrace == 0 {
		j.OrphanGrace = DefaultOrphanGrace
	}
	if _, err := cron.ParseStandard(j.Schedule); err != nil {
		r.add("retention.schedule", "%q: %v", j.Schedule, err)
	}
	loc, err := time.LoadLocation(j.TimeZone)
	if err != nil {
		r.add("retention.time_zone", "%q is not a time zone such as Asia/Tokyo", j.TimeZone)
		loc = time.UTC
	}
	j.Location = loc
	if j.OrphanGrace < 0 {
		r.add("retention.orphan_grace", "must not be negative")
	}
}
