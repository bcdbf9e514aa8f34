package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"hnnsolve"
)

// progress reports training on stderr: a progress bar (epoch, loss, rate,
// ETA) when stderr is a terminal, a line every 10% of the epochs when it is
// not, nothing with -quiet. With chained segments the epochs of all
// segments count as one run; each retry of a segment (Settings.Retries)
// adds a segment's epochs to it.
type progress struct {
	name    string
	epochs  int // over all segments
	every   int // Settings.ProgressEvery
	w       io.Writer
	bar     *progressbar.ProgressBar
	lines   bool
	next    int    // next epoch to log when lines
	header  string // the first line when lines, printed with the first report
	started bool   // training has reported

	perNet   int // epochs of one network (segment or try)
	segments int
	retries  int // Settings.Retries: networks beyond segments are retries
	network  int // networks trained before the current one
	offset   int // epochs of the networks before the current one
	last     int // latest epoch reported by the current network
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Progress modes.
const (
	progressNone  = iota // -quiet
	progressBar          // stderr is a terminal
	progressLines        // stderr is a file or a pipe
)

// newProgress reports the training of segments segments of epochs epochs
// each, each retried at most retries times.
func newProgress(name string, epochs, segments, retries int, stderr io.Writer, quiet bool) *progress {
	mode := progressLines
	switch {
	case quiet:
		mode = progressNone
	case isTerminal(stderr):
		mode = progressBar
	}
	return newProgressMode(name, epochs, max(1, segments), max(0, retries), stderr, mode)
}

func newProgressMode(name string, epochs, segments, retries int, stderr io.Writer, mode int) *progress {
	p := &progress{name: name, epochs: epochs * segments, perNet: epochs, segments: segments, retries: retries,
		w: stderr, every: max(1, min(50, epochs/500))}
	switch mode {
	case progressNone:
	case progressBar:
		p.bar = progressbar.NewOptions(p.epochs,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription(name),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("epoch"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
		)
	default:
		p.lines = true
		p.every = max(1, p.epochs/10)
		p.next = p.every
		retry := ""
		if retries > 0 {
			retry = fmt.Sprintf(", up to %d retries each", retries)
		}
		// Printed once training reports, so that a run that fails before
		// (an unavailable -device) prints its error alone.
		if segments > 1 {
			p.header = fmt.Sprintf("%s: training %d segments for %d epochs each%s\n", name, segments, epochs, retry)
		} else {
			p.header = fmt.Sprintf("%s: training for %d epochs%s\n", name, epochs, retry)
		}
	}
	return p
}

// update is the Settings.Progress callback.
func (p *progress) update(s hnnsolve.Progress) {
	p.started = true
	if p.header != "" {
		fmt.Fprint(p.w, p.header)
		p.header = ""
	}
	if s.Epoch < p.last {
		p.offset += p.last // the next segment, or a retry, started
		p.network++
		if p.network >= p.segments {
			// More networks than segments: a retry; the run grows.
			p.epochs += p.perNet
			if p.bar != nil {
				p.bar.ChangeMax(p.epochs)
			}
		}
	}
	p.last = s.Epoch
	epoch := p.offset + s.Epoch
	switch {
	case p.bar != nil:
		if p.bar.IsFinished() {
			return // the final report repeats the last epoch
		}
		p.bar.Describe(fmt.Sprintf("%s  loss %.3e", p.name, s.Loss))
		_ = p.bar.Set(min(epoch, p.epochs))
	case p.lines && epoch >= p.next:
		seg := ""
		switch {
		case p.retries > 0:
			// Which networks are retries is not reported: count them.
			seg = fmt.Sprintf("  network %d (%d segments)", p.network+1, p.segments)
		case p.segments > 1:
			seg = fmt.Sprintf("  segment %d/%d", p.network+1, p.segments)
		}
		fmt.Fprintf(p.w, "%s: epoch %d/%d%s  loss %.3e  min %.3e  %s\n",
			p.name, epoch, p.epochs, seg, s.Loss, s.MinLoss, s.Elapsed.Round(100*time.Millisecond))
		for p.next <= epoch {
			p.next += p.every
		}
	}
}

// finish ends the bar (training may stop early at a target loss); a run
// that failed before training draws none.
func (p *progress) finish() {
	if p.bar != nil && p.started && !p.bar.IsFinished() {
		_ = p.bar.Finish()
	}
}
