# EfficientAD-S / PUAD-S at the fast preset with the learning rates overridden: the image AUROC of each map alone, of
# the sum of both and of the maps `min_skill` keeps, and each network's validation skill (label-free: 1 - its error
# against the normalised teacher / the zero predictor's). One fit (saved to OUT.pt), the head refitted per rule.
# Usage: efficientad_branches.py [DATASET:]CATEGORY LR TEACHER_LR STEPS THREADS OUT.json [MIN_SKILL]
#   DATASET: mvtec_ad (the shared MVTec AD subset, default) or synthloco (the embedded default data)
import sys, json, time, torch
from iadnb.core import build_method
from iadnb.data import find_data, load_category, decode_uint8, AnomalyDataset
from iadnb.evaluate import evaluate_category, resolve_data_root
from iadnb.metrics import auroc
from iadnb.methods.efficientad import raw_maps_of
name, lr, tlr, steps, threads, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
min_skill = float(sys.argv[7]) if len(sys.argv) > 7 else 0.1
dataset, cat = name.split(':') if ':' in name else ('mvtec_ad', name)
torch.set_num_threads(threads)
root = find_data('mvtec_ad_256') if dataset == 'mvtec_ad' else resolve_data_root(dataset, None)
data = load_category(dataset, root, cat)
m = build_method('puad', preset='fast', lr=lr, teacher_lr=tlr, steps=steps, min_skill=None, device='cpu')   # both maps first
t = time.time(); r = evaluate_category(m, data); wall = time.time() - t
m.save(out.replace('.json', '.pt'))
def aurocs(r):
    b = r.extras['bank_scores']; a = {k: 100 * auroc(r.labels, b[k]) for k in ('efficientad', 'puad')}
    return a | {k: 100 * v for k, v in r.metrics.items() if k.startswith('auroc_') or k == 'pixel_auroc'}
both = aurocs(r); g = m.graph
print('both maps', both, r.timings, flush=True)
tr, va = m._split(AnomalyDataset(data.train, m.transform), AnomalyDataset(data.validation, m.transform) if data.validation else None)
mst, mae, _ = raw_maps_of(g, decode_uint8(data.test, 256, 'test'))
st_only, ae_only = (g.upsample(v).flatten(1).amax(1).numpy() for v in (mst, mae))   # each map's maximum alone
m.hparams['min_skill'] = min_skill
m.fit_head(g, tr, va)   # the fit's own training / validation images
rule = aurocs(evaluate_category(m, data, fit=False))
h = m.history; last = {k: sum(d[k] for d in h[-50:]) / len(h[-50:]) for k in h[0]}
row = dict(dataset=dataset, category=cat, lr=lr, teacher_lr=tlr, steps=steps, threads=threads, skill=m.map_skill,
           min_skill=min_skill, keep_maps=g.keep_maps.tolist(), train_last50=last,
           teacher_final=sum(m.teacher_info['history'][-20:]) / 20, both_maps=both, with_rule=rule,
           st_only=100 * auroc(r.labels, st_only), ae_only=100 * auroc(r.labels, ae_only),
           train_s=m.timings['train_s'], fit_s=r.timings['fit_s'], wall=wall)
print(json.dumps(row, indent=1)); json.dump(row, open(out, 'w'), indent=1)
