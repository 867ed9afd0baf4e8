package zoo

import "testing"

// TestDenseNets checks every DenseNet against torchvision (see incDenseRef).
func TestDenseNets(t *testing.T) {
	refs := []incDenseRef{
		{
			model: DenseNet121, params: 7978856, keys: 606,
			sha: "78d58955cd3d404306b371f9f4d35f1629334333cdb2f38f84252a15f21e983f",
			spots: map[string]string{
				"features.conv0.weight":                         "64,3,7,7",
				"features.norm0.running_mean":                   "64",
				"features.denseblock1.denselayer1.norm1.weight": "64",
				"features.denseblock1.denselayer1.conv1.weight": "128,64,1,1",
				"features.denseblock1.denselayer6.conv2.weight": "32,128,3,3",
				"features.transition1.norm.running_var":         "256",
				"features.transition1.conv.weight":              "128,256,1,1",
				"features.denseblock4.denselayer16.norm1.bias":  "992",
				"features.norm5.weight":                         "1024",
				"classifier.weight":                             "1000,1024",
				"classifier.bias":                               "1000",
			},
			tooSmall: 28,
		},
		{
			model: DenseNet161, params: 28681000, keys: 806,
			sha: "1181c8c879ceb9ff87a428acb4c34477f43535193da8c1c654a14c05e2597b4f",
			spots: map[string]string{
				"features.conv0.weight":                          "96,3,7,7",
				"features.denseblock1.denselayer1.conv1.weight":  "192,96,1,1",
				"features.denseblock3.denselayer36.conv2.weight": "48,192,3,3",
				"classifier.weight":                              "1000,2208",
			},
			tooSmall: 28,
		},
		{
			model: DenseNet169, params: 14149480, keys: 846,
			sha: "70e9a684b799af8038c7e69d237389c51f75eaf5dde2af16c1b88aaee9824b02",
			spots: map[string]string{
				"features.transition3.conv.weight":               "640,1280,1,1",
				"features.denseblock4.denselayer32.conv2.weight": "32,128,3,3",
				"classifier.weight":                              "1000,1664",
			},
			tooSmall: 28,
		},
		{
			model: DenseNet201, params: 20013928, keys: 1006,
			sha: "29b601f51a97d1fdec7ebd8723c4bf9793fd353def5687bc93feff3fee54d345",
			spots: map[string]string{
				"features.denseblock3.denselayer48.norm2.running_var": "128",
				"features.transition3.conv.weight":                    "896,1792,1,1",
				"classifier.weight":                                   "1000,1920",
			},
			tooSmall: 28,
		},
	}
	for _, ref := range refs {
		t.Run(ref.model.Name, func(t *testing.T) { checkIncDense(t, ref) })
	}
}

// TestDenseNetRuns runs DenseNet-121 at the smallest input it takes on the
// reference interpreter.
func TestDenseNetRuns(t *testing.T) {
	incDenseRun(t, DenseNet121, Options{Size: 29, Classes: 5})
}
