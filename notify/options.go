package notify

// Option configures a sender.
type Option func(*options)

type options struct {
	templates *Templates
}

// WithTemplates makes a sender render with t instead of DefaultTemplates.
// A nil t keeps the defaults.
func WithTemplates(t *Templates) Option {
	return func(o *options) {
		if t != nil {
			o.templates = t
		}
	}
}

func applyOptions(opts []Option) options {
	o := options{templates: DefaultTemplates()}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
