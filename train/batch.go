package train

import "math/rand/v2"

// shuffler deals out a seeded permutation of the training set per epoch,
// as a DataLoader with shuffle=True and a seeded generator does.
type shuffler struct {
	order []int
	src   *rand.PCG
	rng   *rand.Rand
}

func newShuffler(n int, seed uint64) *shuffler {
	src := rand.NewPCG(seed, 0x747261696e)
	return &shuffler{order: make([]int, n), src: src, rng: rand.New(src)}
}

// next returns the next epoch's order (valid until the following call):
// a permutation drawn by the generator alone, so that its state before
// the draw (state) gives the order back.
func (s *shuffler) next() []int {
	for i := range s.order {
		s.order[i] = i
	}
	s.rng.Shuffle(len(s.order), func(i, j int) { s.order[i], s.order[j] = s.order[j], s.order[i] })
	return s.order
}

// state returns the generator's state, for a checkpoint.
func (s *shuffler) state() []byte {
	b, _ := s.src.MarshalBinary() // a PCG always marshals
	return b
}

// restore sets the generator's state from a checkpoint's.
func (s *shuffler) restore(b []byte) error { return s.src.UnmarshalBinary(b) }

// batch is one training batch: images, one-hot targets and classes.
type batch struct {
	x, y   []float32
	labels []int64
}

// prefetch assembles the steps batches of order in a goroutine, one
// batch ahead of the consumer, so that the next batch (resized and
// augmented by l, which the goroutine then owns) is ready when a step
// ends. Closing stop ends the goroutine early.
func prefetch(l *loader, order []int, size, steps int, stop <-chan struct{}) <-chan batch {
	ch := make(chan batch, 1)
	order = append([]int(nil), order[:steps*size]...)
	go func() {
		defer close(ch)
		d, per := l.d, l.per()
		for s := 0; s < steps; s++ {
			b := batch{x: make([]float32, size*per), y: make([]float32, size*d.Classes), labels: make([]int64, size)}
			for i, j := range order[s*size : (s+1)*size] {
				l.image(b.x[i*per:(i+1)*per], j)
				b.labels[i] = d.Labels[j]
				b.y[i*d.Classes+int(d.Labels[j])] = 1
			}
			select {
			case ch <- b:
			case <-stop:
				return
			}
		}
	}()
	return ch
}
