"""CSAD pseudo-label quality on SynthLOCO: the pseudo classes matched one to one to the exact part maps
(Hungarian assignment on IoU over all images read), per category, for the images read and for the "good"
images the segmenter is trained on. Prints a table and writes a csv.

    python benchmarks/pseudo_labels.py                               # 40 train images per category, defaults
    python benchmarks/pseudo_labels.py --max-images 200 --colour-weight 2 --out pl_colour.csv

Every setting is read from `iadnb.pseudolabels.pseudo_labels`'s parameters; the data is the default SynthLOCO
(generated into data/ on first use) or `--data-root`.
"""
import argparse, json, time
from pathlib import Path
import numpy as np
from PIL import Image

def category(root, cat, max_images, seed, **kw):
    from iadnb.pseudolabels import pseudo_labels
    from iadnb.metrics import matched_iou
    paths = sorted((root / cat / 'train' / 'good').glob('*.png'))
    ims = np.stack([np.asarray(Image.open(p).convert('RGB')) for p in paths])
    t0 = time.perf_counter(); pl = pseudo_labels(ims, max_images=max_images, seed=seed, **kw); wall = time.perf_counter() - t0
    parts = np.stack([np.asarray(Image.open(root / cat / 'parts' / 'train' / 'good' / paths[i].name)) for i in pl.indices])
    K = int(parts.max()) + 1
    iou_all, match = matched_iou(pl.maps, parts, pl.n_classes, K)
    iou_good, _ = matched_iou(pl.maps[pl.good], parts[pl.good], pl.n_classes, K)
    names = json.loads((root / cat / 'parts_classes.json').read_text())
    return dict(category=cat, images=len(pl.indices), good=len(pl.good), K_pseudo=pl.n_classes, K_true=K,
                miou_all=iou_all.mean(), miou_good=iou_good.mean(), miou_fg_good=iou_good[1:].mean(),
                per_part_good=' '.join(f'{names[str(k)]}:{v:.2f}' for k, v in enumerate(iou_good)),
                components=pl.info['components'], clusters=pl.info['clusters'], wall_s=wall)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data-root', default=None); ap.add_argument('--categories', default=None)
    ap.add_argument('--max-images', type=int, default=40); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--n-rotations', type=int, default=8); ap.add_argument('--colour-weight', type=float, default=0.)
    ap.add_argument('--quantile', type=float, default=0.1); ap.add_argument('--out', default='benchmarks/pseudo_labels_cpu2.csv')
    a = ap.parse_args()
    import pandas as pd
    from iadnb.synthloco import ensure_synthloco, CATEGORIES
    root = Path(a.data_root) if a.data_root else ensure_synthloco()
    cats = a.categories.split(',') if a.categories else list(CATEGORIES)
    rows = []
    for c in cats:
        rows.append(dict(category(root, c, a.max_images, a.seed, n_rotations=a.n_rotations, colour_weight=a.colour_weight,
                                  quantile=a.quantile), n_rotations=a.n_rotations, colour_weight=a.colour_weight, quantile=a.quantile, seed=a.seed))
        print(pd.DataFrame(rows[-1:]).to_string(index=False, float_format='%.3f'), flush=True)
    df = pd.DataFrame(rows); df.to_csv(a.out, index=False)
    print(df.drop(columns='per_part_good').to_string(index=False, float_format='%.3f'))
    print(f"mean mIoU (good images): {df.miou_good.mean():.3f}; written to {a.out}")
