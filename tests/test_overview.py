"""Chapter 0's identities and the numbers its text claims, asserted (float64), and its checker."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gencore
from gencore import overview as O
from gencore.exercises.overview import check_mode_average
from gencore.data import make
from gencore.experiments import divergences as ch1
from gencore.experiments import overview as run
from gencore.figures import gallery as gallery_fig
from gencore.figures import overview as fig

F64 = torch.float64


def _notebook_start():
    """The notebook's draws, in the notebook's order, from ``gencore.seed(0)``."""
    gen = gencore.seed(0)
    x, y = run.classifier_data(600, gen)
    x_test, y_test = run.classifier_data(2000, gen)
    model = O.fit_class_gaussians(x, y)
    post = O.class_posterior(model, x_test)
    accuracy = (post.argmax(-1) == y_test).double().mean().item()
    O.sample_class_gaussians(model, 600, gen)
    on_curve = O.local_pca_ratio(O.spiral_curve(800, 0.02, gen, F64), k=20).median().item()
    box = 7 * torch.rand(800, 2, generator=gen, dtype=F64) - 3.5
    filling = O.local_pca_ratio(box, k=20).median().item()
    y_two = torch.cat([torch.randn(5000, 2, generator=gen, dtype=F64) * 0.1 - 1,
                       torch.randn(5000, 2, generator=gen, dtype=F64) * 0.1 + 1])
    lhs, rhs = O.mse_decomposition(y_two, torch.tensor([0.3, -0.2], dtype=F64))
    return dict(gen=gen, post=post, accuracy=accuracy, on_curve=on_curve, filling=filling, lhs=lhs, rhs=rhs,
                x=x, y=y, x_test=x_test, y_test=y_test, model=model)


def _discriminative_section():
    """The page's generative-vs-discriminative cells (their own stream, ``gencore.generator(1)``)."""
    r = _notebook_start()
    g2 = gencore.generator(1)
    moon_classes = run.MoonClasses(noise=0.25)
    moons_train = run.labelled_moons(600, moon_classes.noise, g2)
    moons_test = run.labelled_moons(2000, moon_classes.noise, g2)
    tests = [(r["x_test"], r["y_test"]), moons_test]
    pair = run.two_classifiers([(r["x"], r["y"]), moons_train], tests, steps=300, generator=g2, progress=False)
    truths = [run.classifier_truth(), moon_classes]
    boxes = [(-6, 6, -6, 6), (-5, 5, -4.5, 4.5)]
    fine = [O.bayes_error(t.log_joint, b, 300) for t, b in zip(truths, boxes)]
    coarse = [O.bayes_error(t.log_joint, b, 200)[0] for t, b in zip(truths, boxes)]
    side = torch.linspace(-1, 1, 100, dtype=F64)
    plane = torch.cartesian_prod(3.5 * side, 2.5 * side)
    far = torch.tensor([[4.0, -2.0]], dtype=F64)
    with torch.no_grad():
        bayes_pred = [t.log_joint(xt).argmax(-1) for t, (xt, _) in zip(truths, tests)]
        agree = [[(pair["net"](p)[i].argmax(-1) == truths[i].log_joint(p).argmax(-1)).double().mean().item()
                  for p in (tests[i][0], plane)] for i in range(2)]
        moons_gen = O.class_posterior(pair["generative"][1], moons_test[0]).argmax(-1)
        far_conf = pair["net"](far)[0].softmax(-1).max().item()
    return dict(acc=pair["accuracy"], bayes=[1 - e for e, _ in fine],
                bayes_test=[(b == yt).double().mean().item() for b, (_, yt) in zip(bayes_pred, tests)],
                quad_err=max(max(abs(e - c), out) for (e, out), c in zip(fine, coarse)), agree=agree,
                moons_gen_err_each=[(moons_gen[moons_test[1] == c] != c).double().mean().item() for c in (0, 1)],
                far_conf=far_conf, far_logp=r["model"].log_joint(far).logsumexp(-1).item(),
                test_logp_min=r["model"].log_joint(r["x_test"]).logsumexp(-1).min().item())


# ------------------------------------------------------------------ the page's claims
@pytest.mark.claim
def test_generative_classifier_claims():
    r = _notebook_start()
    assert (r["post"].sum(-1) - 1).abs().max() < 1e-12
    # the classes overlap (means 2.1 apart): Bayes' rule classifies well but not perfectly
    assert 0.88 < r["accuracy"] < 0.97


@pytest.mark.claim
def test_discriminative_classifier_claims():
    r = _discriminative_section()
    (g_gauss, g_moons), (d_gauss, d_moons) = r["acc"]["generative"], r["acc"]["discriminative"]
    sd = max((a * (1 - a) / 2000) ** 0.5 for a in r["bayes"])
    assert 0.004 < sd < 0.006                                  # "about 0.005"
    assert r["quad_err"] < 1e-4                                # the Bayes error is exact at the digits shown
    assert 0.93 < r["bayes"][0] < 0.96 and 0.97 < r["bayes"][1] < 0.995
    # Gaussian classes: both classifiers are as good as the Bayes-optimal rule on the same points
    for a in (g_gauss, d_gauss):
        assert abs(a - r["bayes_test"][0]) < 2 * sd
    # moons: the Gaussian assumption fails, the net does not
    assert d_moons - g_moons > 10 * sd
    assert r["bayes_test"][1] - d_moons < 2 * sd
    assert min(r["moons_gen_err_each"]) > 0.02                 # "cuts through both moons"
    # the net follows the Bayes-optimal boundary where the data are, not where they are not
    assert min(a for a, _ in r["agree"]) > 0.97
    assert max(b for _, b in r["agree"]) < min(a for a, _ in r["agree"]) - 0.02
    # the outlier: the net is sure, the generative model says "far"
    assert r["far_conf"] > 0.99
    assert r["far_logp"] < r["test_logp_min"] - 5


@pytest.mark.claim
def test_manifold_claims():
    r = _notebook_start()
    assert r["on_curve"] > 0.93                   # "near 1, the neighbourhood is a line"
    assert 0.55 < r["filling"] < 0.75             # more than the ½ of an isotropic cloud, well below 1
    assert r["on_curve"] - r["filling"] > 0.2


def test_mse_decomposition_on_the_page():
    r = _notebook_start()
    assert abs(r["lhs"] - r["rhs"]) < 1e-10


@pytest.mark.slow
@pytest.mark.claim
def test_regression_lands_on_the_mean():
    r = _notebook_start()
    separations = [round(0.25 * i, 2) for i in range(13)]
    xs, ys = run.regression_data(separations, 512, r["gen"], dtype=torch.float32)  # the page trains in float32
    predictors, _ = O.fit_mse_predictors(xs, ys, steps=500, generator=gencore.generator(0), progress=False)
    grid = torch.linspace(-1, 1, 201, dtype=torch.float32)
    with torch.no_grad():
        fits = predictors(grid[:, None])[..., 0]
        mse = (predictors(xs) - ys).pow(2).mean((1, 2))
    to_mean, to_branch = O.distances_to_mean_and_branches(fits, grid, separations)
    assert (to_mean < 0.3).all()                                  # "follows the mean curve"
    assert 1.25 < to_branch[-1] < 1.5                             # near d/2 = 1.5 from the branches at d = 3
    target_var = torch.tensor([d**2 / 4 + 0.0025 for d in separations], dtype=F64)
    assert ((mse / target_var) > 0.85).all() and ((mse / target_var) < 1.2).all()   # "close to the variance"
    assert (to_branch[3:] > 3 * to_mean[3:]).all()                # nearer the mean than any branch


def _both_moons_shares(x):
    """The share of the samples nearest to each moon's centre curve."""
    pieces = make(run.DATASET, dtype=x.dtype).pieces
    s = torch.linspace(0, 1, 513, dtype=x.dtype)
    nearest = torch.stack([torch.cdist(x, piece(s)).amin(-1) for piece in pieces], -1).argmin(-1)
    return torch.bincount(nearest, minlength=2).to(x.dtype) / len(x)


@pytest.mark.slow
@pytest.mark.claim
def test_gallery_numbers():
    """What chapter 0's text says about the gallery, read against the metrics' own noise."""
    from gencore.experiments import gallery  # every chapter's recipes: imported where needed

    results, floor, curve_floor = run.run_gallery(gallery.FAMILIES, n=1000, generator=gencore.generator(0))
    r = {res.family.chapter: res for res in results}
    assert floor.repeats >= 20 and 0.04 < floor.mean < 0.1 and floor.sd > 0
    # the single Gaussian: far above the floor ("standard deviations above it")
    assert r[1].sliced_w2 > floor.mean + 4 * floor.sd
    # "every other family draws both moons"
    for c in (3, 4, 5, 6, 7, 8, 9, 10):
        assert _both_moons_shares(r[c].samples).min() > 0.3, r[c].family.name
    # the EBM: the worst trained model by more than the metric's noise, and above the floor
    trained = [res.sliced_w2 for res in results if res.family.chapter >= 3 and res.family.chapter != 8]
    assert floor.separates(r[8].sliced_w2, max(trained)) and r[8].sliced_w2 > max(trained)
    assert not floor.reaches(r[8].sliced_w2)
    # "only a minority of the 21 pairs among the other seven differ by more than 2 sd"
    n_separated = sum(floor.separates(a, b) for i, a in enumerate(trained) for b in trained[i + 1:])
    assert len(trained) == 7 and n_separated <= 10
    # the verdicts the page glues are the floor's own
    verdicts = run.verdicts(results, floor)
    assert all((v == "reaches the floor") == floor.reaches(r_.sliced_w2)
               for r_ in results if r_.family.chapter >= 1 for v in [verdicts[r_.family.name]])
    # distance to the curves: its noise is small, and the three groups the text names
    assert curve_floor.sd < 0.05 * curve_floor.mean
    assert abs(curve_floor.mean - 0.1 * (2 / torch.pi) ** 0.5) < 0.003   # "about 0.08"
    ratio = {c: res.curve_distance / curve_floor.mean for c, res in r.items()}
    assert all(ratio[c] > 1.6 for c in (3, 6, 7))                    # blurred: about twice as far
    assert all(1.15 < ratio[c] < 1.7 for c in (5, 9))                # a little farther
    assert all(0.7 < ratio[c] < 1.15 for c in (4, 8, 10))            # no blur
    assert min(ratio[c] for c in (3, 6, 7)) > max(ratio[c] for c in (5, 9)) + 5 * curve_floor.sd / curve_floor.mean
    assert all(res.samples.dtype == F64 for res in results if res.samples is not None)
    assert [res.samples is None for res in results] == [f.sampler is None for f in gallery.FAMILIES]


# ------------------------------------------------------------------ the mathematics
def test_mse_decomposition_identity_and_mode_average(gen):
    y = torch.randn(1000, 3, generator=gen, dtype=F64) * 2 + 1
    c = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
    lhs, rhs = O.mse_decomposition(y, c)
    assert abs(lhs - rhs) < 1e-12
    best, _ = O.mse_decomposition(y, y.mean(0))
    assert best <= lhs
    modes = torch.tensor([[-1.0, 0.0], [1.0, 2.0]], dtype=F64)
    w = torch.tensor([0.25, 0.75], dtype=F64)
    assert torch.allclose(O.mode_average(modes, w), torch.tensor([0.5, 1.5], dtype=F64))
    with pytest.raises(ValueError, match="weights"):
        O.mode_average(modes, torch.tensor([-0.5, 1.5], dtype=F64))
    with pytest.raises(ValueError, match="modes"):
        O.mode_average(modes[0], w)


def test_bimodal_data_has_mean_m_and_two_branches(gen):
    x, y = O.bimodal_regression_data(20000, 2.0, noise=0.0, generator=gen, dtype=F64)
    assert x.shape == y.shape == (20000, 1) and x.dtype == F64
    off = y - O.conditional_mean(x)
    assert torch.allclose(off.abs(), torch.ones_like(off))
    assert abs(off.mean()) < 0.03
    with pytest.raises(ValueError, match="separation"):
        O.bimodal_regression_data(10, -1.0)
    with pytest.raises(ValueError, match="n"):
        O.bimodal_regression_data(0, 1.0)


def test_predictors_are_independent_tanh_models(gen):
    x = torch.linspace(-1, 1, 16, dtype=F64).reshape(1, 16, 1).expand(3, 16, 1).contiguous()
    model, _ = O.fit_mse_predictors(x, torch.sin(3 * x), steps=1, hidden=8, generator=gen, progress=False)
    out = model(x)
    assert out.shape == (3, 16, 1) and out.dtype == F64
    w, b = model.weights, model.biases
    for s in range(3):                            # sizes (1, 8, 8, 1), tanh between layers
        h = torch.tanh(x[s] @ w[0][s] + b[0][s])
        h = torch.tanh(h @ w[1][s] + b[1][s])
        assert torch.allclose(out[s], h @ w[2][s] + b[2][s])
    model.zero_grad()
    model(x)[0].pow(2).sum().backward()           # the loss of model 0 does not move model 1's weights
    assert w[0].grad[1].abs().max() == 0 and w[0].grad[0].abs().max() > 0


def test_fit_mse_predictors_rejects_bad_shapes():
    with pytest.raises(ValueError, match="x and y"):
        O.fit_mse_predictors(torch.zeros(2, 4, 1), torch.zeros(3, 4, 1), steps=1, progress=False)
    with pytest.raises(ValueError, match="x"):
        O.fit_mse_predictors(torch.zeros(4, 1), torch.zeros(4, 1), steps=1, progress=False)


def test_fit_mse_predictors_is_deterministic_and_keeps_dtype():
    x = torch.linspace(-1, 1, 32, dtype=F64).reshape(1, 32, 1).expand(2, 32, 1).contiguous()
    y = torch.sin(3 * x)
    a, _ = O.fit_mse_predictors(x, y, steps=20, generator=torch.Generator().manual_seed(0), progress=False)
    b, _ = O.fit_mse_predictors(x, y, steps=20, generator=torch.Generator().manual_seed(0), progress=False)
    with torch.no_grad():
        assert torch.equal(a(x), b(x)) and a(x).dtype == F64


def test_nothing_reseeds_the_global_generator():
    state = torch.random.get_rng_state()
    g = torch.Generator().manual_seed(0)
    O.bimodal_regression_data(10, 1.0, generator=g, dtype=F64)
    O.spiral_curve(10, 0.1, g, F64)
    x = torch.rand(1, 8, 1, generator=g, dtype=F64)
    O.fit_mse_predictors(x, x, steps=1, generator=g, progress=False)
    run.manifold_frames([0.0, 0.1], n=20, k=5, generator=g)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_meta_device():
    """Shapes and devices follow the inputs (torch's shape-only device: no values, no kernels run)."""
    meta = torch.device("meta")
    x, y = O.bimodal_regression_data(16, 1.0, dtype=torch.float32, device=meta)
    assert x.device == meta and x.shape == y.shape == (16, 1) and x.dtype == torch.float32
    assert O.spiral_curve(16, 0.1, device=meta).shape == (16, 2)
    assert O.conditional_mean(torch.empty(4, 3, 2, device=meta)).shape == (4, 3, 2)
    lhs, rhs = O.mse_decomposition(torch.empty(8, 2, device=meta), torch.empty(2, device=meta))
    assert lhs.device == meta and rhs.shape == ()
    assert O.mode_average(torch.empty(3, 2, device=meta), torch.empty(3, device=meta)).shape == (2,)
    to_mean, to_branch = O.distances_to_mean_and_branches(torch.empty(3, 5, device=meta), torch.empty(5, device=meta),
                                                          torch.empty(3, device=meta))
    assert to_mean.device == meta and to_branch.shape == (3,)
    model = O.ClassGaussians(torch.empty(2, 2, device=meta), torch.empty(2, 2, 2, device=meta),
                             torch.empty(2, device=meta))
    post = O.class_posterior(model, torch.empty(7, 2, device=meta))
    assert post.device == meta and post.shape == (7, 2)


def test_local_pca_ratio_line_and_plane(gen):
    t = torch.rand(300, generator=gen, dtype=F64)
    line = torch.stack([t, 2 * t], -1)
    assert (O.local_pca_ratio(line, 10) > 1 - 1e-9).all()
    curve = O.spiral_curve(500, 0.0, gen, F64)
    assert curve.shape == (500, 2) and curve.dtype == F64
    assert O.local_pca_ratio(curve, 10).median() > 0.99
    cloud = torch.randn(2000, 2, generator=gen, dtype=F64)
    assert 0.5 <= O.local_pca_ratio(cloud, 200).median() < 0.65
    with pytest.raises(ValueError, match="k"):
        O.local_pca_ratio(cloud[:5], 10)
    with pytest.raises(ValueError, match="noise"):
        O.spiral_curve(10, -0.1)


def test_generative_classifier_matches_bayes_by_hand(gen):
    x, y = run.classifier_data(400, gen)
    m = O.fit_class_gaussians(x, y)
    for c in range(2):
        xc = x[y == c]
        assert torch.allclose(m.means[c], xc.mean(0))
        assert torch.allclose(m.covs[c], torch.cov(xc.T, correction=0))
    pts = torch.randn(50, 2, generator=gen, dtype=F64)
    dens = torch.stack([m.priors[c] * torch.distributions.MultivariateNormal(m.means[c], m.covs[c]).log_prob(pts).exp()
                        for c in range(2)], -1)
    assert torch.allclose(O.class_posterior(m, pts), dens / dens.sum(-1, keepdim=True), atol=1e-12)
    far = torch.tensor([[1e3, -1e3]], dtype=F64)   # log space: no 0/0 far from both classes
    assert torch.isfinite(O.class_posterior(m, far)).all()
    new_x, new_y = O.sample_class_gaussians(m, 20000, gen)
    assert new_x.dtype == F64 and new_y.shape == (20000,)
    assert torch.allclose(new_x[new_y == 1].mean(0), m.means[1], atol=0.03)
    with pytest.raises(ValueError, match="class"):
        O.fit_class_gaussians(x[:3], torch.tensor([0, 0, 1]))
    with pytest.raises(TypeError, match="y"):
        O.fit_class_gaussians(x, y.double())


def test_bayes_error_of_two_isotropic_gaussians_is_phi_of_half_the_distance():
    """Equal covariances sigma² I and priors: the Bayes error is Phi(-|mu1 - mu0| / (2 sigma)) exactly."""
    sigma, mu = 0.7, torch.tensor([[-0.5, 0.2], [0.6, -0.3]], dtype=F64)
    m = O.ClassGaussians(mu, sigma**2 * torch.eye(2, dtype=F64).expand(2, 2, 2), torch.tensor([0.5, 0.5], dtype=F64))
    err, outside = O.bayes_error(m.log_joint, (-6, 6, -6, 6), 400)
    exact = 0.5 * math.erfc(float((mu[1] - mu[0]).norm()) / (2 * sigma) / math.sqrt(2))
    assert abs(err - exact) < 1e-6 and 0 <= outside < 1e-12
    err_small, outside_small = O.bayes_error(m.log_joint, (-1, 1, -1, 1), 100)   # a box too small: says so
    assert outside_small > 0.3 and err_small < err


def test_bayes_error_of_the_page_agrees_with_a_large_sample(gen):
    """Quadrature against Monte Carlo for both problems of the page (4 sd of the sample's noise)."""
    for truth, box in ((run.classifier_truth(), (-6, 6, -6, 6)), (run.MoonClasses(0.25), (-5, 5, -4.5, 4.5))):
        err, _ = O.bayes_error(truth.log_joint, box, 300)
        if isinstance(truth, O.ClassGaussians):
            xs, ys = O.sample_class_gaussians(truth, 200_000, gen)
        else:
            xs, ys = truth.sample(200_000, gen)
        mc = (truth.log_joint(xs).argmax(-1) != ys).double().mean().item()
        assert abs(err - mc) < 4 * math.sqrt(err * (1 - err) / 200_000), (err, mc)


def test_moon_classes_are_the_moons_split_by_piece(gen):
    """Each class is one moon: the two classes' mixture is make("moons")'s density, and labels match pieces."""
    mc = run.MoonClasses(0.25)
    pts = torch.randn(500, 2, generator=gen, dtype=F64) * 1.5
    assert torch.allclose(mc.log_joint(pts).logsumexp(-1), make("moons", noise=0.25).log_prob(pts), atol=1e-9)
    x, y = run.labelled_moons(4000, 0.25, gen)
    assert abs(y.double().mean().item() - 0.5) < 0.03
    pieces = make("moons").pieces
    s = torch.linspace(0, 1, 513, dtype=F64)
    nearest = torch.stack([torch.cdist(x, piece(s)).amin(-1) for piece in pieces], -1).argmin(-1)
    assert (nearest == y).double().mean() > 0.9


def test_gaussian_log_odds_is_the_quadratic_of_the_exercise(gen):
    """The solution of ex-overview-logodds against Bayes' rule computed by the library."""
    m = run.classifier_truth()
    (m0, m1), (s0, s1), (p0, p1) = m.means, m.covs, m.priors
    i0, i1 = torch.linalg.inv(s0), torch.linalg.inv(s1)
    c = (torch.log(p1 / p0) - 0.5 * torch.logdet(s1) + 0.5 * torch.logdet(s0)
         - 0.5 * m1 @ i1 @ m1 + 0.5 * m0 @ i0 @ m0)
    x = torch.randn(50, 2, generator=gen, dtype=F64) * 2
    quad = -0.5 * torch.einsum("ni,ij,nj->n", x, i1 - i0, x) + x @ (i1 @ m1 - i0 @ m0) + c
    post = O.class_posterior(m, x)
    assert torch.allclose(quad, post[:, 1].log() - post[:, 0].log(), atol=1e-9)


def test_fit_discriminative_learns_separate_independent_models(gen):
    """Each set's net is trained on its own loss only; a separable set is classified, the run is reproducible."""
    x0 = torch.randn(2, 200, 2, generator=gen, dtype=F64)
    y0 = (x0[..., 0] > 0).long()                                   # set 0: separable along x
    y1 = (x0[..., 1] > 0).long()                                   # set 1: along y
    net, hist = O.fit_discriminative(x0, torch.stack([y0[0], y1[1]]), steps=200,
                                     generator=torch.Generator().manual_seed(0), progress=False)
    with torch.no_grad():
        pred = net(x0).argmax(-1)
        p = net(x0).softmax(-1)
    assert (pred[0] == y0[0]).double().mean() > 0.97 and (pred[1] == y1[1]).double().mean() > 0.97
    assert torch.allclose(p.sum(-1), torch.ones_like(p[..., 0]))
    # changing set 1's labels leaves model 0 exactly as it was
    other, _ = O.fit_discriminative(x0, torch.stack([y0[0], 1 - y1[1]]), steps=200,
                                    generator=torch.Generator().manual_seed(0), progress=False)
    with torch.no_grad():
        assert torch.equal(other(x0)[0], net(x0)[0])
        assert not torch.allclose(other(x0)[1], net(x0)[1])
    with pytest.raises(ValueError, match="y"):
        O.fit_discriminative(x0, torch.full((2, 200), 2), progress=False)
    with pytest.raises(TypeError, match="y"):
        O.fit_discriminative(x0, y0.double(), progress=False)


def test_discriminative_pieces_leave_the_global_generator_alone(gen):
    state = torch.random.get_rng_state()
    x = torch.rand(1, 8, 2, generator=gen, dtype=F64)
    O.fit_discriminative(x, torch.arange(8).reshape(1, 8) % 2, steps=1, generator=gen, progress=False)
    run.labelled_moons(10, 0.25, gen)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_boundaries_figure_tells_the_lines_apart_without_colour(gen):
    import matplotlib.pyplot as plt
    x, y = run.classifier_data(200, gen)
    m = O.fit_class_gaussians(x, y)
    net, _ = O.fit_discriminative(x[None], y[None], steps=5, generator=gen, progress=False)
    panel = dict(title="t", truth=run.classifier_truth(), generative=m, x=x, y=y, extent=(-3.5, 3.5, -2.5, 2.5),
                 accuracy=(0.9, 0.9, 0.94))
    f = fig.boundaries_figure([panel], net, res=40)
    try:
        styles = [h.get_linestyle() for h in f.legends[0].legend_handles]
        assert len(set(styles)) == 3                               # dotted, dashed, solid
        markers = {c.get_paths()[0].vertices.shape[0] for c in f.axes[0].collections[:2]}
        assert len(markers) == 2                                   # circles and triangles
    finally:
        plt.close(f)


# ------------------------------------------------------------------ the gallery registry
def test_registry_covers_every_chapter():
    from gencore.experiments import gallery  # every chapter's recipes: imported where needed

    chapters = {f.chapter for f in gallery.FAMILIES}
    assert set(range(1, 11)) - {2} <= chapters and 0 in chapters
    assert all(callable(f.sampler) for f in gallery.FAMILIES)


def test_adding_a_family_is_one_entry():
    fake = lambda train, n, g: train[:n] + 0.0  # noqa: E731  (a "model" that memorizes its data)
    registry = (run.Family("data (a fresh sample)", 0, run.data_sampler), run.Family("GAN", 4))
    families = run.with_sampler("GAN", fake, registry)
    results, floor, curve_floor = run.run_gallery(families, n=200, n_train=400, floor_repeats=20)
    assert all(r.samples is not None for r in results)
    assert floor.repeats == 20 and floor.sd > 0 and floor.n == 200
    assert results[1].sliced_w2 < floor.mean + 4 * floor.sd          # memorized data: data-like
    assert curve_floor.sd < 0.2 * curve_floor.mean
    assert run.verdicts(results, floor) == {"GAN": "reaches the floor" if floor.reaches(results[1].sliced_w2)
                                                else "above the floor"}
    figure = gallery_fig.gallery_figure(results, floor)
    shown = [ax for ax in figure.axes if ax.get_visible()]
    assert len(shown) == 2 and f"{floor.mean:.3f} ± {floor.sd:.3f}" in figure._suptitle.get_text()
    assert shown[1].get_xlabel().startswith(f"sliced W2 {results[1].sliced_w2:.3f}")


def test_curve_distance_sees_blur_and_collapse():
    x = make(run.DATASET, dtype=F64).sample((4000,), generator=torch.Generator().manual_seed(0))
    d = run.curve_distance(x)
    assert abs(d - 0.1 * (2 / torch.pi) ** 0.5) < 0.005             # the noise across the curve
    blurred = x + 0.2 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert run.curve_distance(blurred) > 1.5 * d


def test_curve_distance_is_the_distance_to_the_two_arcs():
    """Against the exact distance to the moons' half circles (radius 1.5, centres (∓0.75, ∓0.375))."""
    g = torch.Generator().manual_seed(0)
    x = 4 * torch.rand(2000, 2, generator=g, dtype=F64) - 2
    exact = []
    for centre, start in (((-0.75, -0.375), 0.0), ((0.75, 0.375), math.pi)):
        d = x - torch.tensor(centre, dtype=F64)
        phi = torch.remainder(torch.atan2(d[:, 1], d[:, 0]) - start, 2 * math.pi)
        ends = torch.tensor(centre, dtype=F64) + 1.5 * torch.tensor(
            [[math.cos(start), math.sin(start)], [-math.cos(start), -math.sin(start)]], dtype=F64)
        to_end = torch.cdist(x, ends).amin(-1)
        exact.append(torch.where(phi <= math.pi, (d.norm(dim=-1) - 1.5).abs(), to_end))
    want = torch.stack(exact, -1).amin(-1)
    for i in range(0, 2000, 400):  # one point at a time: the distance itself
        assert abs(run.curve_distance(x[i:i + 1]) - want[i].item()) < 3e-5
    assert abs(run.curve_distance(x) - want.mean().item()) < 3e-5


def _check_sampler(sampler):
    train = make(run.DATASET, dtype=F64).sample((400,), generator=torch.Generator().manual_seed(0))
    a = sampler(train, 50, torch.Generator().manual_seed(3))
    b = sampler(train, 50, torch.Generator().manual_seed(3))
    assert a.shape == (50, 2) and a.dtype == F64 and torch.isfinite(a).all()
    assert torch.equal(a, b)                                    # one generator fixes everything


def test_samplers_follow_the_training_data_dtype_and_seed():
    for sampler in (run.data_sampler, ch1.gallery_sampler):  # the cheap ones
        _check_sampler(sampler)


def test_gan_sampler_follows_the_training_data_dtype_and_seed():
    from gencore.experiments import gallery  # every chapter's recipes: imported where needed

    _check_sampler(lambda t, n, g: gallery.gan_sampler(t, n, g, steps=30))  # the others run in test_gallery_numbers


def test_regression_data_in_float32_rounds_the_float64_draws():
    seps = [0.0, 1.5]
    x64, y64 = run.regression_data(seps, 64, torch.Generator().manual_seed(0))
    x32, y32 = run.regression_data(seps, 64, torch.Generator().manual_seed(0), dtype=torch.float32)
    assert x64.dtype == F64 and x32.dtype == torch.float32 and x32.shape == (2, 64, 1)
    assert torch.equal(x32, x64.float()) and torch.equal(y32, y64.float())


def test_slider_labels_print_values():
    xs, ys = run.regression_data([0.0, 0.5], 16, torch.Generator().manual_seed(0))
    net, _ = O.fit_mse_predictors(xs, ys, steps=1, hidden=4, generator=torch.Generator().manual_seed(0), progress=False)
    reg = fig.regression_slider([0.0, 0.5], xs, ys, net)
    man = fig.manifold_slider(run.manifold_frames([0.0, 0.1], n=50, k=5, generator=torch.Generator().manual_seed(0)))
    assert reg.params["separation"].text(0.5) == "0.50"
    assert man.params["noise"].text(0.1) == "0.10"
    assert man.render((0,)) != man.render((1,))                    # the noise moves the points
    assert reg.render((0,)) != reg.render((1,))


# ------------------------------------------------------------------ the exercise checker
def test_checker_accepts_the_reference_solution():
    verdict = check_mode_average(lambda modes, weights: weights @ modes)
    assert verdict, verdict.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda m, w: m[w.argmax()], "most likely mode"),
    (lambda m, w: m[0], "first mode"),
    (lambda m, w: m.mean(0), "unweighted"),
    (lambda m, w: w @ m.flip(0), "wrong modes"),
    (lambda m, w: (w[:, None] * m).sum(), "shape"),
    (lambda m, w: (w @ m).double(), "float32"),
    (lambda m, w: w @ m + 1, "smallest expected squared error"),
    (lambda m, w: 1 / 0, "raised"),
])
def test_checker_explains_typical_mistakes(wrong, hint):
    verdict = check_mode_average(wrong)
    assert not verdict and hint in verdict.message, verdict.message


@pytest.mark.parametrize("name,kw", [("vae_sampler", dict(steps=20)), ("gan_sampler", dict(steps=20)),
                                     ("flow_sampler", dict(steps=5)), ("annealed_langevin_sampler", dict(steps=20))])
def test_gallery_samplers_do_not_read_the_default_dtype(name, kw):
    # the notebook runs with float32 as torch's default, the tests with float64: the gallery must not care
    from gencore.experiments import gallery

    train = make(run.DATASET, dtype=F64).sample((300,), generator=torch.Generator().manual_seed(0))
    out = []
    for default in (torch.float32, torch.float64):
        torch.set_default_dtype(default)  # restored by the suite's isolation fixture
        out.append(getattr(gallery, name)(train, 50, torch.Generator().manual_seed(1), **kw))
    assert out[0].dtype == F64 and torch.equal(out[0], out[1])


@pytest.mark.slow
def test_gallery_and_page_data_on_an_accelerator_give_the_cpus_numbers():
    """On the device the gallery's data, samples and scores, and the page's datasets, are the CPU's."""
    from fakedevice import OnDevice, active
    from gencore.experiments.gallery import FAMILIES

    families = tuple(f for f in FAMILIES if f.chapter in (0, 1))  # the data and chapter 1's: cheap

    def page(device):
        results, floor, curve = run.run_gallery(families, n=60, n_train=200, generator=torch.Generator().manual_seed(0),
                                                floor_repeats=3, device=device)
        g = torch.Generator().manual_seed(1)
        x, _ = run.classifier_data(50, g, device=device)
        frames = run.manifold_frames([0.0, 0.1], n=30, k=5, generator=g, device=device)
        tensors = [r.samples for r in results] + [x] + [t for pair in frames.values() for t in pair]
        return [(r.sliced_w2, r.curve_distance) for r in results] + [floor, curve], tensors

    cpu_numbers, cpu_tensors = page(torch.device("cpu"))
    with active() as dev:
        numbers, tensors = page(dev)
        assert all(isinstance(t, OnDevice) for t in tensors)
        assert all(torch.equal(a, b.cpu()) for a, b in zip(cpu_tensors, tensors))
    assert numbers == cpu_numbers


def test_a_legend_pasted_as_an_image_draws_what_the_legend_drew():
    """pixels.as_image (the sliders' legends): the frame is the same to within 1/255, also where the
    data pass under the legend, and only the image is left to draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from gencore import pixels, viz

    def frame(fig):
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).astype(int)

    with viz.style():
        fig = Figure(figsize=(4, 3), dpi=90)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], label="a rising line")
        ax.plot([0, 1], [0.1, 0.1], lw=4, label="a thick flat line under the legend")
        legend = ax.legend(loc="lower left", frameon=True, framealpha=0.5)
        before = frame(fig)
        pixels.as_image(fig, legend)
        after = frame(fig)
    assert ax.get_legend() is None and len(fig.images) == 1
    assert np.abs(before - after).max() <= 2
