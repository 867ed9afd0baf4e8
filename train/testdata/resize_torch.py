# Writes resize_torch.json: torch's bilinear resize (align_corners=False,
# antialias=False) of a 2x5x7 image to 3x3, 11x11 and 16x16.
import json, torch
torch.manual_seed(0)
x = torch.randn(1, 2, 5, 7)
out = {"in": x.flatten().tolist(), "c": 2, "h": 5, "w": 7, "out": {}}
for n in (3, 11, 16):
    y = torch.nn.functional.interpolate(x, size=(n, n), mode="bilinear", align_corners=False, antialias=False)
    out["out"][str(n)] = y.flatten().tolist()
out["torch"] = torch.__version__
print(json.dumps(out))
