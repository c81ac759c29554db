"""The ceiling of CSAD's patch-histogram branch on SynthLOCO: the same class-fraction histograms (whole image and
2 x 2 quadrants), Gaussians and trimmed z-scores as `iadnb.methods.csad`, but computed from SynthLOCO's *exact* part
maps instead of the segmenter's prediction. The gap to the fitted branch is what better segmentation can buy.

    python benchmarks/csad_histogram_ceiling.py                       # default SynthLOCO (generated on first use)
    python benchmarks/csad_histogram_ceiling.py --data-root /tmp/sl_seed1 --out ceiling_seed1.csv

Seconds on a CPU: no network is run.
"""
import argparse, json
from pathlib import Path
import numpy as np
import pandas as pd
import torch

def histograms(files, K):
    "Image (N, K) and quadrant (N, 4K) class fractions of the label maps in `files`, as CSAD's argmax histograms."
    from iadnb.data import load_label_map
    from iadnb.parts import region_histograms
    maps = torch.from_numpy(np.stack([load_label_map(f) for f in files])).long()
    p = torch.nn.functional.one_hot(maps, K).permute(0, 3, 1, 2).float()
    return region_histograms(p, K, 1).numpy(), region_histograms(p, K, 2).numpy()

def category(root:Path, cat:str)->dict:
    from iadnb.memory import fit_gaussian, mahalanobis
    from iadnb.fusion import ScoreScaler
    from iadnb.methods.csad import HIST_RTOL
    from iadnb.metrics import auroc
    K, parts = len(json.loads((root / cat / 'parts_classes.json').read_text())), root / cat / 'parts'
    split = lambda s: histograms(sorted((parts / s).glob('*.png')), K)
    types = ['good', 'logical_anomalies', 'structural_anomalies']
    tr, va, te = split('train/good'), split('validation/good'), [split(f'test/{t}') for t in types]
    labels = np.concatenate([[t] * len(h[0]) for t, h in zip(types, te)])
    score = 0
    for i in range(2):              # z(global) + z(patch), as the branch
        mean, prec = fit_gaussian(tr[i], rtol=HIST_RTOL)
        d = lambda h: mahalanobis(torch.from_numpy(h).float(), mean, prec).numpy()
        s = ScoreScaler('trimmed').fit(d(va[i]))
        score = score + (d(np.concatenate([h[i] for h in te])) - s.trim_mean) / s.trim_std
    row = {'category': cat}
    for t, name in (('logical_anomalies', 'LA'), ('structural_anomalies', 'SA')):
        keep = (labels == 'good') | (labels == t)
        row[f'exact parts {name}'] = 100 * auroc((labels[keep] != 'good').astype(int), score[keep])
    return row

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data-root', default=None, help='SynthLOCO folder (default: the embedded one, generated on first use)')
    ap.add_argument('--out', default=str(Path(__file__).with_name('csad_histogram_ceiling.csv')))
    a = ap.parse_args()
    from iadnb.synthloco import ensure_synthloco
    root = Path(a.data_root) if a.data_root else ensure_synthloco()
    cats = sorted(p.name for p in root.iterdir() if (p / 'parts').is_dir())
    df = pd.DataFrame([category(root, c) for c in cats])
    df = pd.concat([df, pd.DataFrame([{'category': 'average', **df.drop(columns='category').mean()}])], ignore_index=True)
    print(df.round(1).to_string(index=False)); df.to_csv(a.out, index=False)
