# EfficientAD-S / PUAD-S at the fast preset with the learning rates overridden: the image AUROC of each map alone and
# the validation losses (label-free) that say which network learned. Usage: efficientad_branches.py CATEGORY LR TEACHER_LR STEPS THREADS OUT.json
import sys, json, time, torch
from iadnb.core import build_method
from iadnb.data import find_data, load_category, decode_uint8
from iadnb.evaluate import evaluate_category
from iadnb.metrics import auroc
from iadnb.methods.efficientad import raw_maps_of
from iadnb.pdn import normalized_batches
cat, lr, tlr, steps, threads, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
torch.set_num_threads(threads)
data = load_category('mvtec_ad', find_data('mvtec_ad_256'), cat)
m = build_method('puad', preset='fast', lr=lr, teacher_lr=tlr, steps=steps, device='cpu')
t = time.time(); r = evaluate_category(m, data); wall = time.time() - t
b = r.extras['bank_scores']; g = m.graph
print('AUROC efficientad', 100 * auroc(r.labels, b['efficientad']), 'puad', 100 * auroc(r.labels, b['puad']), r.metrics, r.timings, flush=True)
m.save(out.replace('.json', '.pt'))
from iadnb.data import AnomalyDataset
tr, va = m._split(AnomalyDataset(data.train, m.transform), AnomalyDataset(data.validation, m.transform) if data.validation else None)
with torch.no_grad():
    acc = {'st': 0., 'ae': 0., 'stae': 0.}
    for x in normalized_batches(va, 'cpu', 8):
        tt = (g.teacher(x) - g.t_mean[:, None, None]) / g.t_std[:, None, None]; s = g.student(x); a = g.autoencoder(x)
        acc['st'] += ((tt - s[:, :384]) ** 2).mean((1, 2, 3)).sum().item(); acc['ae'] += ((a - tt) ** 2).mean((1, 2, 3)).sum().item()
        acc['stae'] += ((a - s[:, 384:]) ** 2).mean((1, 2, 3)).sum().item()
    val = {k: v / len(va) for k, v in acc.items()}
    te = decode_uint8(data.test, 256, 'test')
    mst, mae, _ = raw_maps_of(g, te)
    q = g.quantiles
    st_only = ((g.upsample(mst) - q[0]) * 0.1 / (q[1] - q[0])).flatten(1).amax(1).numpy()
    ae_only = ((g.upsample(mae) - q[2]) * 0.1 / (q[3] - q[2])).flatten(1).amax(1).numpy()
h = m.history; last = {k: sum(d[k] for d in h[-50:]) / 50 for k in h[0]}; first = {k: sum(d[k] for d in h[:20]) / 20 for k in h[0]}
row = dict(category=cat, lr=lr, teacher_lr=tlr, steps=steps, threads=threads, val=val, train_first20=first, train_last50=last,
           teacher_final=sum(m.teacher_info['history'][-20:]) / 20,
           efficientad=100 * auroc(r.labels, b['efficientad']), puad=100 * auroc(r.labels, b['puad']),
           st_only=100 * auroc(r.labels, st_only), ae_only=100 * auroc(r.labels, ae_only),
           pixel_auroc=100 * r.metrics['pixel_auroc'], train_s=m.timings['train_s'], fit_s=r.timings['fit_s'], wall=wall)
print(json.dumps(row, indent=1)); json.dump(row, open(out, 'w'), indent=1)
