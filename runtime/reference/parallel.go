package reference

import (
	"runtime"
	"sync"
)

// parallelFor calls body on disjoint ranges [lo, hi) covering [0, n), one
// per CPU, and waits for all of them. Bodies must write disjoint outputs;
// each computes exactly what the sequential loop would, so results do not
// depend on the number of CPUs.
func parallelFor(n int, body func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	wg.Wait()
}
