package train

import "math"

// Schedule returns the learning rate of an epoch (from 1) from the base
// rate and the metrics of the epochs before it. Fit calls it before each
// epoch.
type Schedule func(epoch int, base float32, history []Metrics) float32

// Constant keeps the base rate.
func Constant() Schedule {
	return func(_ int, base float32, _ []Metrics) float32 { return base }
}

// StepDecay multiplies the rate by gamma every size epochs, as
// torch.optim.lr_scheduler.StepLR.
func StepDecay(size int, gamma float32) Schedule {
	size = max(size, 1)
	return func(epoch int, base float32, _ []Metrics) float32 {
		return base * float32(math.Pow(float64(gamma), float64((epoch-1)/size)))
	}
}

// Cosine anneals the rate from base toward 0 over epochs epochs, as
// torch.optim.lr_scheduler.CosineAnnealingLR with T_max = epochs stepped
// once an epoch.
func Cosine(epochs int) Schedule {
	epochs = max(epochs, 1)
	return func(epoch int, base float32, _ []Metrics) float32 {
		return float32(float64(base) * (1 + math.Cos(math.Pi*float64(epoch-1)/float64(epochs))) / 2)
	}
}

// OnPlateau multiplies the rate by gamma whenever the test accuracy (the
// training accuracy without a test set) has not improved for patience
// epochs: AlexNet's recipe, "divide the learning rate by 10 when the
// validation error rate stops improving", as ReduceLROnPlateau in mode
// max.
func OnPlateau(patience int, gamma float32) Schedule {
	patience = max(patience, 1)
	return func(_ int, base float32, history []Metrics) float32 {
		lr, best, since := base, math.Inf(-1), 0
		for _, m := range history {
			acc := m.TestAcc
			if acc == 0 {
				acc = m.TrainAcc
			}
			if acc > best {
				best, since = acc, 0
				continue
			}
			if since++; since >= patience {
				lr *= gamma
				since = 0
			}
		}
		return lr
	}
}
