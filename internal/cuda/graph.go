//go:build gpu

package cuda

// Graph is a sequence of launches, products, copies and zeroings recorded
// by Capture, replayed by Launch with one call: about 1 us of launch cost per
// node instead of 5-10 us per launch. It replays the work exactly as
// recorded, with the arguments' values at capture time (Buffers, numbers,
// Dgemm's alpha and beta): to change an input, change the memory a Buffer
// argument points to. Close destroys it.
type Graph struct {
	d           *Device
	graph, exec uintptr
}

// Capture records the work that record queues on the Device (Launch,
// LaunchShared, Dgemm, DgemmStridedBatched, Copy, Zero) into a Graph
// instead of running it. record must call the Device from the calling
// goroutine, and not Alloc, Free, CopyIn, CopyOut, Synchronize or Compile,
// which fail while capturing. If record returns an error, nothing is kept and Capture
// returns that error.
func (d *Device) Capture(record func() error) (*Graph, error) {
	if record == nil {
		return nil, failed("Capture", "nil record function")
	}
	if err := d.enter("Capture"); err != nil { // holds the thread until the capture ends
		return nil, err
	}
	defer d.leave()
	if d.capturing {
		return nil, failed("Capture", "already capturing")
	}
	drv := d.drv
	if err := drv.check("cuStreamBeginCapture_v2", drv.StreamBeginCapture(d.stream, captureModeThreadLocal), ErrFailed); err != nil {
		return nil, err
	}
	d.capturing = true
	var graph uintptr
	var endErr error
	ended := false
	end := func() {
		if !ended {
			ended = true
			d.capturing = false
			endErr = drv.check("cuStreamEndCapture", drv.StreamEndCapture(d.stream, &graph), ErrFailed)
		}
	}
	defer end() // also if record panics: the stream must leave capture mode
	recErr := record()
	end()
	if recErr != nil || endErr != nil {
		if graph != 0 {
			drv.GraphDestroy(graph)
		}
		if recErr != nil {
			return nil, recErr
		}
		return nil, endErr
	}
	var exec uintptr
	if err := drv.check("cuGraphInstantiateWithFlags", drv.GraphInstantiateWithFlags(&exec, graph, 0), ErrFailed); err != nil {
		drv.GraphDestroy(graph)
		return nil, err
	}
	return &Graph{d: d, graph: graph, exec: exec}, nil
}

// Launch queues one replay of the graph on its Device's stream.
func (g *Graph) Launch() error {
	if g == nil || g.exec == 0 {
		return failed("Graph.Launch", "the Graph is closed")
	}
	if err := g.d.enter("Graph.Launch"); err != nil {
		return err
	}
	defer g.d.leave()
	return g.d.drv.check("cuGraphLaunch", g.d.drv.GraphLaunch(g.exec, g.d.stream), ErrFailed)
}

// Close destroys the graph (after the replays queued so far have run).
// Closing twice does nothing.
func (g *Graph) Close() error {
	if g == nil || g.exec == 0 {
		return nil
	}
	if err := g.d.enter("Graph.Close"); err != nil {
		return err
	}
	defer g.d.leave()
	if err := g.d.notCapturing("Graph.Close"); err != nil {
		return err
	}
	err := g.d.drv.check("cuStreamSynchronize", g.d.drv.StreamSynchronize(g.d.stream), ErrFailed)
	if e := g.d.drv.check("cuGraphExecDestroy", g.d.drv.GraphExecDestroy(g.exec), ErrFailed); err == nil {
		err = e
	}
	if e := g.d.drv.check("cuGraphDestroy", g.d.drv.GraphDestroy(g.graph), ErrFailed); err == nil {
		err = e
	}
	g.exec, g.graph = 0, 0
	return err
}
