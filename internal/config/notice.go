package config

// Notice modes of a line (notice_mode):
//
//	answer       the 200 goes first, then the notice (the default; every
//	             carrier takes it)
//	early-media  the notice plays in a 183 (reliable when the caller
//	             requires 100rel) and the caller is answered when the agent
//	             answers, so a toll-free call is not billed for the notice
//	             or for an agent side that never answers; a delayed-offer
//	             INVITE is answered first whatever the mode
const (
	NoticeAnswer     = "answer"
	NoticeEarlyMedia = "early-media"
)

// checkNoticeModes fills in and checks the lines' notice_mode.
func (c *Config) checkNoticeModes(r *report) {
	for i := range c.Lines {
		l := &c.Lines[i]
		switch l.NoticeMode {
		case "":
			l.NoticeMode = NoticeAnswer
		case NoticeAnswer, NoticeEarlyMedia:
		default:
			r.add(child(index("lines", i), "notice_mode"), "%q is not answer or early-media", l.NoticeMode)
		}
	}
}
