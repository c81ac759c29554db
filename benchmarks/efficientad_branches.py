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
with torch.no_grad():   # validation losses: the two raw maps' means, and the autoencoder against the normalised teacher
    v_st, v_stae, _ = raw_maps_of(g, va)
    v_ae = sum(((g.autoencoder(x) - (g.teacher(x) - g.t_mean[:, None, None]) / g.t_std[:, None, None]) ** 2).mean((1, 2, 3)).sum().item()
               for x in normalized_batches(va, 'cpu', 8)) / len(va)
    val = {'st': v_st.mean().item(), 'ae': v_ae, 'stae': v_stae.mean().item()}
    mst, mae, _ = raw_maps_of(g, decode_uint8(data.test, 256, 'test'))
    st_only, ae_only = (g.upsample(v).flatten(1).amax(1).numpy() for v in (mst, mae))   # each map's maximum alone
h = m.history; last = {k: sum(d[k] for d in h[-50:]) / len(h[-50:]) for k in h[0]}; first = {k: sum(d[k] for d in h[:20]) / len(h[:20]) for k in h[0]}
row = dict(category=cat, lr=lr, teacher_lr=tlr, steps=steps, threads=threads, val=val, train_first20=first, train_last50=last,
           teacher_final=sum(m.teacher_info['history'][-20:]) / 20,
           efficientad=100 * auroc(r.labels, b['efficientad']), puad=100 * auroc(r.labels, b['puad']),
           st_only=100 * auroc(r.labels, st_only), ae_only=100 * auroc(r.labels, ae_only),
           pixel_auroc=100 * r.metrics['pixel_auroc'], train_s=m.timings['train_s'], fit_s=r.timings['fit_s'], wall=wall)
print(json.dumps(row, indent=1)); json.dump(row, open(out, 'w'), indent=1)
