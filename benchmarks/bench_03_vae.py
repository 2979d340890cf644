"""Chapter 3's main trained model: the β = 1 VAE on the two moons (trained with six siblings at once).

Rows, each next to its floor:

* average ELBO and importance-sampled log-likelihood (S = 1000) on 1,000 test points, next to
  −H(p), the average log-density of the data itself by quadrature (the best any model can do);
* sliced Wasserstein-2 between 1,000 samples of the model and 1,000 test points, next to the same
  distance between two independent data samples of that size (the data-vs-data floor, mean and
  sd over 20 pairs with the same 512 projections).
"""
from __future__ import annotations

import torch

import gencore
from gencore import data, metrics
from gencore import vae as V
from gencore.experiments import vae as run


def quality() -> list[dict]:
    torch.set_num_threads(1)
    gen = gencore.generator(1)  # the notebook's seed for this section
    moons = data.make("moons")
    x_train, x_test = moons.sample((1000,), generator=gen), moons.sample((1000,), generator=gen)
    toy = run.train_toy(x_train, [0.0, 0.25, 0.5, 1.0, 1.4, 2.0, 4.0], steps=1200, generator=gen, progress=False)
    vae = toy.index(1.0)
    neg_entropy = -metrics.entropy_on_grid(moons.log_prob, moons.box, 300).item()
    tab = run.likelihood_table(toy, x_test, vae, n_samples=1000, generator=gen)
    with torch.no_grad():
        samples = toy.model.select(vae).sample(1000, generator=gen)[0]
        def sw_fn(a, b):  # the same 512 fixed directions for the model and every floor pair
            return metrics.sliced_w2(a, b, 512)

        sw = sw_fn(samples, x_test).item()
        floor = metrics.floor_spread(sw_fn, lambda n, g: moons.sample((n,), generator=g), 1000, 20, gen)
    common = dict(model="VAE β=1, 2D latent, MLP 32x2 (1200 full-batch Adam steps)", dataset="moons")
    return [
        common | dict(metric="ELBO, nats (floor: -H(p))", value=round(tab["elbo"], 4), floor=round(neg_entropy, 4)),
        common | dict(metric="log-lik IS S=1000, nats (floor: -H(p))", value=round(tab["log_lik"], 4),
                      floor=round(neg_entropy, 4)),
        common | dict(metric="sliced W2 (1k samples)", value=round(sw, 4), floor=round(floor.mean, 4),
                      floor_sd=round(floor.sd, 4), floor_repeats=floor.repeats),
    ] + _recipe_rows(neg_entropy)


def _recipe_rows(neg_entropy) -> list[dict]:
    """The chapter's last section: one β = 1 VAE by the better recipe (fresh batches, cosine decay,
    width 64, the bound L_4 on batches of 500), at the chapter's seed and at GENCORE_SEED = 1, 2
    (seeds shifted as gencore shifts them). Scored by importance sampling (S = 1000) on 10,000 fresh
    points, whose average has a standard error near 0.01 nats (value_sd)."""
    moons = data.make("moons")
    rows = []
    for seed in (0, 1, 2):
        shift = gencore.SEED_STRIDE * seed  # what GENCORE_SEED=seed adds to every seed
        best, _ = run.train_vae(lambda n, g: moons.sample((n,), generator=g), steps=3000, lr=5e-3, hidden=64,
                                batch=500, k=4, generator=gencore.generator(4 + shift), progress=False)
        x = moons.sample((10_000,), generator=gencore.generator(6 + shift))
        with torch.no_grad():
            ll = V.log_likelihood_is(x, best.encode, best.decode, 1000, gencore.generator(5 + shift))[0]
        rows.append(dict(model=f"VAE β=1, 2D latent, MLP 64x2, learned decoder scale (3000 fresh-batch Adam steps "
                               f"on L_4, cosine decay; seed {seed})",
                         dataset="moons", metric="log-lik IS S=1000, nats (floor: -H(p))",
                         value=round(ll.mean().item(), 4), value_sd=round((ll.std() / len(ll) ** 0.5).item(), 4),
                         floor=round(neg_entropy, 4)))
    return rows
