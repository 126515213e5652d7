package retention

// SetAfterRead makes p call f after it reads each batch of expired
// recordings and before it marks them as purging.
func SetAfterRead(p *Purger, f func()) { p.afterRead = f }
