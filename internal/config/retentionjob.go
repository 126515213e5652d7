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

	// OrphanMaxPercent bounds a deleting sweep: finding orphans in more
	// than this percentage of the bucket (and more than 10) it deletes
	// none, since the catalog is then what is wrong. Default 10; 100
	// lifts the bound.
	OrphanMaxPercent int `yaml:"orphan_max_percent"`
}

// Defaults of the retention job.
const (
	DefaultPurgeSchedule = "@hourly"
	DefaultTimeZone      = "Asia/Tokyo"
	DefaultOrphanGrace   = Duration(24 * time.Hour)
	DefaultOrphanPercent = 10
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
	switch {
	case j.OrphanMaxPercent == 0:
		j.OrphanMaxPercent = DefaultOrphanPercent
	case j.OrphanMaxPercent < 0 || j.OrphanMaxPercent > 100:
		r.add("retention.orphan_max_percent", "%d is not a percentage from 1 to 100 (100 lifts the bound)", j.OrphanMaxPercent)
	}
}
