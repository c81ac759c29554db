"""Label-free scoring variants of MuSc on the default CNN backbone, measured on a few categories: the search for why
grid's zero-shot image AUROC stays near 50 with EfficientNet-Lite0 (see benchmarks/README.md, MuSc). The test features
are extracted once per (data, category, input padding) and cached; every variant then re-scores them in seconds to
minutes. Labels are read only to compute the AUROCs printed.

    python benchmarks/musc_variants.py --data-root <MVTec AD folder> --categories grid,transistor \\
        --variants '[{}, {"interval": [0, 0.1]}, {"border": 2}, {"ring": "median"}, {"pad": 32}]'

A variant's keys: `interval` (MuSc's mutual-scoring interval, default [0, 0.3]), `r` (aggregation degrees, default
[1, 3, 5]), `layers` (stage names, default both), `border` (cells of the finest grid left out of the image score:
MuSc's `score_border` in cells, 2 = 16 px at stride 8), `rscin` (false: no re-scoring by image neighbours) are
scored by MuSc's own `MuScGraph.score_features`, so `[{}]` gives the method's numbers. Two are not in the method and
re-derive the image score from its maps: `top` (the mean of the top-k map values instead of the maximum), `ring`
('median' or 'z': each cell minus the median over all images of the cells at the same distance from the edge, or
divided by their MAD too), `smooth` (a Gaussian of this sigma, in pixels, over the maps for the pixel
metrics only, as PatchCore does). `pad` reflect-pads the input by this many pixels and crops the features back.
"""
import argparse, json, time
from pathlib import Path
import torch
import torch.nn.functional as F
from iadnb.core import gaussian_blur
from iadnb.data import load_category, AnomalyDataset
from iadnb.methods.musc import MuSc, MuScGraph, features_and_embedding, rscin
from iadnb.metrics import auroc, pixel_metrics

def features(dataset, root, cat, pad, cache:Path):
    "Per-stage test features (cropped back when the input was padded), image embeddings, labels and masks; cached."
    f = cache / f'{dataset}_{Path(root).name}_{cat}_{pad}.pt'
    if f.exists(): return torch.load(f, weights_only=False)
    data = load_category(dataset, root, cat)
    m = MuSc(device='cpu'); m.fit(None)
    test = AnomalyDataset(data.test, m.transform, defects=data.defects)
    fe, out, embs = m.backbone, {}, []
    with torch.inference_mode():
        for x, _ in m._batches(test, 'MuSc features'):
            fs, e = features_and_embedding(fe, F.pad(x, (pad,) * 4, mode='reflect') if pad else x)
            for l, v in fs.items():
                c = pad // fe.strides[l]       # the padding's cells cropped back off
                out.setdefault(l, []).append(v[..., c:v.shape[-2] - c, c:v.shape[-1] - c] if c else v)
            embs.append(e)
    size = tuple(test[0]['image'].shape[-2:])
    r = dict(feats={l: torch.cat(v).float() for l, v in out.items()}, emb=torch.cat(embs), labels=test.labels,
             gt=torch.as_tensor(test.gt_masks(size)), size=size)
    cache.mkdir(parents=True, exist_ok=True); torch.save(r, f)
    return r

def edge_distance(h, w):
    "Each cell's distance (in cells) to the nearest edge of an h x w map."
    y, x = torch.arange(h)[:, None], torch.arange(w)[None]
    return torch.minimum(torch.minimum(y, h - 1 - y), torch.minimum(x, w - 1 - x))

def ring_norm(a, mode):
    "Cells minus the median over all images of the cells at the same edge distance (`mode='z'`: divided by their MAD)."
    d, out = edge_distance(*a.shape[-2:]), a.clone()
    for k in range(int(d.max()) + 1):
        sel = a[:, d == k]; dev = sel - sel.median()
        out[:, d == k] = dev / dev.abs().median().clamp_min(1e-12) if mode == 'z' else dev
    return out

def score(r, interval=(0., .3), r_degrees=(1, 3, 5), layers=None, top=None, use_rscin=True, border=0, ring=None, smooth=0):
    "Image and pixel AUROC (%) of MuSc's scores under one variant, scored by the method's own `MuScGraph`."
    fs = r['feats'] if layers is None else {l: r['feats'][l] for l in layers}
    g = MuScGraph(None, r_degrees, interval, border=border)   # the features are cached: no backbone needed
    scores, grid_maps, raw = g.score_features(fs, r['emb'] if use_rscin else None)   # maps on the finest grid
    if ring or top:       # what the graph does not do: re-derive the image score from the grid maps
        if ring: grid_maps = ring_norm(grid_maps, ring)
        b, m = border, grid_maps
        flat = (m[:, b:m.shape[1] - b, b:m.shape[2] - b] if b else m).flatten(1)
        raw = flat.amax(1) if top is None else flat.topk(top, 1).values.mean(1)
        scores = rscin(raw, r['emb']) if use_rscin else raw
    maps = F.interpolate(grid_maps[:, None], size=r['size'], mode='bilinear', align_corners=True)[:, 0]  # as MuSc.predict
    maps = gaussian_blur(maps, smooth)     # 0: unchanged; the image score is not taken from these
    px = pixel_metrics(r['gt'].numpy(), maps.numpy(), aupro=False)['auroc']
    return round(100 * auroc((r['labels'] > 0).astype(int), scores.numpy()), 1), round(100 * px, 1)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dataset', default='mvtec_ad'); ap.add_argument('--data-root', required=True)
    ap.add_argument('--categories', default='grid,transistor'); ap.add_argument('--variants', default='[{}]')
    ap.add_argument('--cache', default='runs/musc_variants_cache')
    a = ap.parse_args(); torch.set_num_threads(2)
    keys = {'r': 'r_degrees', 'rscin': 'use_rscin'}
    for cat in a.categories.split(','):
        for v in json.loads(a.variants):
            v = dict(v); pad = v.pop('pad', 0)
            r = features(a.dataset, a.data_root, cat, pad, Path(a.cache))
            t = time.perf_counter(); img, pix = score(r, **{keys.get(k, k): x for k, x in v.items()})
            print(f"{cat:12s} {json.dumps({'pad': pad, **v}):44s} image AUROC {img:5.1f}  pixel AUROC {pix:5.1f}  ({time.perf_counter() - t:.0f} s)", flush=True)
