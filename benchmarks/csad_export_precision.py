"""Where a fitted CSAD's PyTorch / ONNX score differences come from: the test images whose two scores differ most,
each compared with a float64 copy of the same model (same weights, exact-ish arithmetic), and the patch-histogram
branch recomputed from float32 logits with float64 histograms and head, and from float64 logits rounded to float32.
Says whether the error is the export's, the histogram arithmetic's, or the float32 network's.

    python benchmarks/csad_export_precision.py --model runs/csad_tables/models/juice_bottle.pt --category juice_bottle

The model's `.onnx` export must lie beside it (the T5 notebook writes both). Labels are not read.
"""
import argparse, copy
from pathlib import Path
import numpy as np
import torch
from iadnb.core import AnomalyModel
from iadnb.data import load_category, AnomalyDataset
from iadnb.evaluate import resolve_data_root
from iadnb.export import load_export

def worst_images(m, onnx, samples, top):
    "Indices of the `top` test images whose PyTorch and ONNX scores differ most, and both runtimes' scores."
    pt = m.predict(AnomalyDataset(samples, m.transform)).scores
    ox = onnx.predict(AnomalyDataset(samples, onnx.transform)).scores
    d = np.abs(pt - ox)
    return np.argsort(-d)[:top], pt, ox

@torch.inference_mode()
def against_float64(g32, g64, x, onnx_score):
    "Differences from the float64 copy `g64` of the graph `g32`, on one normalised image (1, 3, H, W)."
    b32, _ = g32.branches(x); b64, _ = g64.branches(x.double())
    l32, l64 = g32.segment(x), g64.segment(x.double())
    ref = g64.patch_histogram(l64)[0]
    return {'pytorch fp32': float(b32['csad'][0] - b64['csad'][0]), 'onnx fp32': onnx_score - float(b64['csad'][0]),
            'lgst branch fp32': float(b32['lgst'][0] - b64['lgst'][0]),
            'patchhist fp32': float(b32['patchhist'][0] - b64['patchhist'][0]),
            'patchhist, fp32 logits, fp64 after': float(g64.patch_histogram(l32.double())[0] - ref),
            'patchhist, fp64 logits rounded to fp32': float(g64.patch_histogram(l64.float().double())[0] - ref),
            'logits max |fp32 - fp64|': float((l32.double() - l64).abs().max())}

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', required=True); ap.add_argument('--category', required=True)
    ap.add_argument('--data-root', default=None, help='SynthLOCO folder (default: the embedded one)')
    ap.add_argument('--top', type=int, default=3)
    a = ap.parse_args(); torch.set_num_threads(2)
    m = AnomalyModel.load(a.model)
    onnx = load_export(Path(a.model).with_suffix('.onnx'))
    samples = load_category('synthloco', resolve_data_root('synthloco', a.data_root), a.category).test
    idx, pt, ox = worst_images(m, onnx, samples, a.top)
    print(f'scores: std {pt.std():.3g}, max |pytorch - onnx| {np.abs(pt - ox).max():.2e}')
    ds, g64 = AnomalyDataset(samples, m.transform), copy.deepcopy(m.graph).double()   # the float64 copy made once
    for i in idx:
        r = against_float64(m.graph, g64, ds[int(i)]['image'][None], float(ox[i]))
        print(f'image {i} (score {pt[i]:.2f}, |pytorch - onnx| {abs(pt[i] - ox[i]):.1e}), minus float64: ' +
              ', '.join(f'{k} {v:+.1e}' for k, v in r.items()), flush=True)
