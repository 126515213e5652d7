package main

import (
	"fmt"
	"time"
	_ "time/tzdata" // -tz works on a machine without a zoneinfo database
)

// One time zone for what kirokuctl reads and prints: -tz, else
// KIROKU_TZ, else the machine's. A time given without an offset is read
// in it (and sent to the API in RFC 3339 with the offset, so kirokud's
// own zone plays no part), and every time printed is in it, with the
// zone named.

// loadZone resolves -tz: an IANA name (Asia/Tokyo, UTC) or "Local".
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: -tz %q is not a time zone such as Asia/Tokyo or UTC", errUsage, name)
	}
	return loc, nil
}

// inputLayouts are the forms of a time without an offset, read in the
// zone.
var inputLayouts = []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// timeArg turns the value of flag name into RFC 3339 for the API: one
// with an offset as given, one without read in the zone; "" stays "".
func (g *globals) timeArg(name, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.Format(time.RFC3339), nil
	}
	for _, l := range inputLayouts {
		if t, err := time.ParseInLocation(l, v, g.zone()); err == nil {
			return t.Format(time.RFC3339), nil
		}
	}
	return "", fmt.Errorf("%w: -%s %q is not a time: give RFC 3339 (2026-11-05T09:30:00+09:00) or 2026-11-05[T09:30[:00]] in %s", errUsage, name, v, g.zone())
}

// zone is the time zone of input and output.
func (g *globals) zone() *time.Location {
	if g.loc == nil {
		return time.Local
	}
	return g.loc
}

// at prints t to the second in the zone, with the zone's abbreviation
// (or offset, where it has none).
func (g *globals) at(t time.Time) string { return t.In(g.zone()).Format("2006-01-02 15:04:05 MST") }

// day prints t's date in the zone, with the zone.
func (g *globals) day(t time.Time) string { return t.In(g.zone()).Format("2006-01-02 MST") }

// timeFilters rewrites the time filters among filters (from, to) with
// timeArg.
func (g *globals) timeFilters(filters map[string]*string) error {
	for _, k := range []string{"from", "to"} {
		v, ok := filters[k]
		if !ok {
			continue
		}
		t, err := g.timeArg(k, *v)
		if err != nil {
			return err
		}
		*v = t
	}
	return nil
}
