"""Backbone, stages and input size of PatchCore measured against each other (issue 14): image / pixel AUROC on the
MVTec AD subset (grid, transistor) and the LOCO averages on SynthLOCO, with fit s and predict img/s.

    python benchmarks/backbone_study.py [--seed 0] [--out benchmarks/backbone_study_cpu2.csv]

PatchCore paper preset (10 % coreset, calibrated IVF search), seed 0. Each finished (config, data set) row is
appended at once, and rows already in the csv are skipped, so an interrupted study resumes where it stopped.
The speed columns are only comparable between rows of one quiet run; `backbone_speed` below times the backbones alone.
"""
import argparse, time, os
import pandas as pd, torch
from iadnb.data import find_data
from iadnb.evaluate import evaluate
from iadnb.backbones import FeatureExtractor

CONFIGS = [  # (backbone, image size, layers)
    ('tf_efficientnet_lite0', 224, ('blocks.2', 'blocks.4')),
    ('tf_efficientnet_lite0', 256, ('blocks.2', 'blocks.4')),
    ('tf_efficientnet_lite0', 320, ('blocks.2', 'blocks.4')),
    ('tf_efficientnet_lite1', 256, ('blocks.2', 'blocks.4')),
    ('tf_efficientnet_lite2', 256, ('blocks.2', 'blocks.4')),
    ('tf_efficientnet_lite0', 256, ('blocks.2', 'blocks.4', 'blocks.6')),
    ('tf_efficientnet_lite1', 320, ('blocks.2', 'blocks.4')),
    ('tf_efficientnet_lite2', 320, ('blocks.2', 'blocks.4')),
]

def key(bb, size, layers): return f"{bb.replace('tf_efficientnet_', '')} {size} {'+'.join(l.split('.')[1] for l in layers)}"

def run_one(bb, size, layers, dataset, seed):
    kw = dict(dataset='mvtec_ad', data_root=find_data('mvtec_ad_256'), categories='grid,transistor') if dataset == 'mvtec' \
         else dict(dataset='synthloco', data_root=None if seed == 0 else os.environ.get('IADNB_SYNTHLOCO_SEED1'))
    r = evaluate('patchcore', preset='paper', backbone=bb, image_size=size, hparams={'layers': list(layers), 'compile': False},
                 device='cpu', out_dir=None, seed=0, **kw)
    row = dict(config=key(bb, size, layers), backbone=bb, image_size=size, layers='+'.join(layers), data=dataset if dataset == 'mvtec' else f'synthloco seed {seed}',
               fit_s=sum(c.timings['fit_s'] for c in r), predict_img_s=sum(len(c) for c in r) / sum(len(c) / c.timings['predict_img_s'] for c in r))
    if dataset == 'mvtec':
        for c in r: row[f'{c.category} image'] = 100 * c.metrics['image_auroc']; row[f'{c.category} pixel'] = 100 * c.metrics['pixel_auroc']
    else:
        a = r.loco_averages(); row.update(LA=a['LA'], SA=a['SA'], mean=a['mean'])
    return row

def backbone_speed(n:int=5):
    "ms per image of each config's backbone alone (batch 16, inference mode), median of `n` timed batches."
    out = []
    for bb, size, layers in CONFIGS:
        fe, x = FeatureExtractor(bb, layers), torch.rand(16, 3, size, size) * 2 - 1
        with torch.inference_mode():
            fe(x); ts = []
            for _ in range(n): t = time.perf_counter(); fe(x); ts.append(time.perf_counter() - t)
        out.append(dict(config=key(bb, size, layers), backbone_ms_per_image=1000 * sorted(ts)[n // 2] / 16))
    return pd.DataFrame(out)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='benchmarks/backbone_study_cpu2.csv')
    ap.add_argument('--data', default='mvtec,synthloco', help="comma-separated: mvtec, synthloco")
    ap.add_argument('--seed', type=int, default=0, help="SynthLOCO seed (1: the folder in $IADNB_SYNTHLOCO_SEED1)")
    ap.add_argument('--configs', default='', help="comma-separated config indices (default all)")
    ap.add_argument('--speed', action='store_true', help="only time the backbones")
    a = ap.parse_args()
    if a.speed: print(backbone_speed().to_string(index=False)); raise SystemExit
    done = pd.read_csv(a.out) if os.path.exists(a.out) else pd.DataFrame(columns=['config', 'data'])
    idx = [int(i) for i in a.configs.split(',')] if a.configs else range(len(CONFIGS))
    for i in idx:
        bb, size, layers = CONFIGS[i]
        for ds in a.data.split(','):
            tag = ds if ds == 'mvtec' else f'synthloco seed {a.seed}'
            if ((done.config == key(bb, size, layers)) & (done.data == tag)).any(): continue
            row = run_one(bb, size, layers, ds, a.seed)
            print(row, flush=True)
            done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
            done.to_csv(a.out + '.tmp', index=False); os.replace(a.out + '.tmp', a.out)
    print(done.round(2).to_string(index=False))
