"""Chapter 10's identities and claims, each asserted numerically (float64 unless said otherwise)."""
from __future__ import annotations

import math

import pytest
import torch

import gencore
from gencore import autoregressive as A
from gencore import metrics
from gencore.exercises import autoregressive as check
from gencore.experiments import autoregressive as run_ar
from gencore.quadrature import log_integral

F64 = torch.float64


def mixture_params(n, k, gen, dtype=F64):
    return (torch.randn(n, k, generator=gen, dtype=dtype), torch.randn(n, k, generator=gen, dtype=dtype),
            0.2 + torch.rand(n, k, generator=gen, dtype=dtype))


# ------------------------------------------------------------------ 1D conditionals
def test_mixture_log_prob_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    logits, means, scales = mixture_params(50, 4, gen)
    y = torch.randn(50, generator=gen, dtype=F64)
    ref = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(logits=logits),
                                                torch.distributions.Normal(means, scales)).log_prob(y)
    assert torch.allclose(A.mixture_log_prob(y, logits, means, scales), ref, atol=1e-12)


def test_mixture_log_prob_is_finite_far_away():
    gen = torch.Generator().manual_seed(1)
    logits, means, scales = mixture_params(3, 2, gen)
    lp = A.mixture_log_prob(torch.full((3,), 80.0, dtype=F64), logits, means, scales)
    assert torch.isfinite(lp).all() and (lp < -1000).all()


def test_mixture_integrates_to_one_in_1d():
    gen = torch.Generator().manual_seed(2)
    logits, means, scales = mixture_params(1, 5, gen)
    ys = torch.linspace(-15, 15, 30001, dtype=F64)
    lp = A.mixture_log_prob(ys, logits.expand(len(ys), -1), means.expand(len(ys), -1), scales.expand(len(ys), -1))
    assert (lp.exp().sum() * (ys[1] - ys[0])).item() == pytest.approx(1.0, abs=1e-8)


def test_binned_density_is_probability_over_width():
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=F64))
    y = torch.tensor([-0.9, -0.1, 0.2, 0.99, 1.5], dtype=F64)
    lp = A.binned_log_prob(y, logits.expand(5, -1), -1.0, 1.0)
    want = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=F64) / 0.5)
    assert torch.allclose(lp[:4], want, atol=1e-12)
    assert lp[4] == -math.inf


def test_samplers_follow_their_densities():
    gen = torch.Generator().manual_seed(3)
    logits = torch.tensor([[0.0, 1.0]], dtype=F64).expand(100_000, -1)
    means = torch.tensor([[-2.0, 3.0]], dtype=F64).expand(100_000, -1)
    scales = torch.tensor([[0.5, 1.0]], dtype=F64).expand(100_000, -1)
    y = A.mixture_sample(logits, means, scales, gen)
    w = torch.softmax(logits[0], 0)
    assert y.mean().item() == pytest.approx((w * means[0]).sum().item(), abs=0.03)
    b = A.binned_sample(torch.zeros(100_000, 4, dtype=F64), -1.0, 1.0, gen)
    assert b.min() >= -1 and b.max() < 1 and abs(b.mean().item()) < 0.01


# ------------------------------------------------------------------ the 2D model
@pytest.mark.parametrize("kind", ["mdn", "bins"])
@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_ar2d_normalizes_on_a_grid(kind, order):
    torch.manual_seed(0)
    model = A.AR2D(order, kind=kind, components=4, bins=20, box=(-3.5, 3.5), dtype=F64)
    with torch.no_grad():  # perturbed weights: normalization holds for any parameters
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    # bins: a grid aligned with them (140 = 7 * 20 cells) integrates the step density exactly;
    # mixtures: a box wide enough for the tails, fine enough for the narrowest component
    if kind == "bins":
        assert log_integral(model.log_prob, (-3.5, 3.5, -3.5, 3.5), 140, dtype=F64).item() == pytest.approx(0, abs=1e-10)
    else:
        assert log_integral(model.log_prob, (-9, 9, -9, 9), 600, dtype=F64).item() == pytest.approx(0, abs=1e-4)


def test_chain_rule_consistency():
    torch.manual_seed(0)
    model = A.AR2D((1, 0), components=3, dtype=F64)
    x = torch.randn(20, 2, dtype=F64)
    factors = model.factor_log_probs(x)
    first = model.first.log_prob(x[:, 1], x.new_zeros(20, 0))
    second = model.conditional_log_prob(x[:3, 0], x[0, 1].item())
    assert torch.allclose(factors.sum(-1), model.log_prob(x), atol=1e-14)
    assert torch.allclose(factors[:, 0], first, atol=1e-14)
    assert torch.allclose(factors[0, 1], second[0], atol=1e-12)


def test_float64_in_float64_out_and_float32_kept():
    gen = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, F64):
        logits, means, scales = mixture_params(5, 2, gen, dtype)
        assert A.mixture_log_prob(torch.zeros(5, dtype=dtype), logits, means, scales).dtype == dtype
        assert A.binned_log_prob(torch.zeros(5, dtype=dtype), logits, -1, 1).dtype == dtype
    model = A.AR2D(dtype=F64)
    assert model.log_prob(torch.zeros(3, 2, dtype=F64)).dtype == F64
    assert model.sample(4, gen).dtype == F64
    made = A.MADE(9, 16, dtype=F64)
    assert made.log_prob(torch.zeros(2, 9, dtype=F64)).dtype == F64
    assert made.sample(2, gen).dtype == F64


def test_bad_input_errors_name_the_argument():
    gen = torch.Generator().manual_seed(0)
    logits, means, scales = mixture_params(5, 2, gen)
    with pytest.raises(ValueError, match="scales"):
        A.mixture_log_prob(torch.zeros(5, dtype=F64), logits, means, -scales)
    with pytest.raises(ValueError, match="means"):
        A.mixture_log_prob(torch.zeros(5, dtype=F64), logits, means[:, :1].squeeze(-1), scales)
    with pytest.raises(TypeError, match="y"):
        A.mixture_log_prob([0.0] * 5, logits, means, scales)
    with pytest.raises(ValueError, match="logits"):  # one row per point: never cut to fit
        A.binned_log_prob(torch.zeros(3, dtype=F64), logits, -1.0, 1.0)
    with pytest.raises(ValueError, match="y"):
        A.mixture_log_prob(torch.tensor([0.0, 1, 2, 3, math.nan], dtype=F64), logits, means, scales)
    with pytest.raises(ValueError, match="high"):
        A.binned_log_prob(torch.zeros(5, dtype=F64), logits, 1.0, -1.0)
    with pytest.raises(ValueError, match="order"):
        A.AR2D((0, 0))
    with pytest.raises(ValueError, match="kind"):
        A.AR2D(kind="flow")
    with pytest.raises(ValueError, match="x"):
        A.AR2D().log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="x"):
        A.MADE(9, 16)(torch.zeros(2, 8))
    with pytest.raises(ValueError, match="dim"):
        A.made_masks(1, 8)


def test_sampling_is_seeded():
    model = A.AR2D(components=3)
    a = model.sample(50, torch.Generator().manual_seed(5))
    b = model.sample(50, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_parabola_density_normalizes():
    p = A.Parabola()
    assert log_integral(p.log_prob, (-7, 7, -3, 40), 800, dtype=F64).item() == pytest.approx(0, abs=1e-4)


# ------------------------------------------------------------------ MADE and bars
@pytest.mark.parametrize("dim,layers", [(5, 1), (16, 2), (9, 3)])
def test_made_is_causal(dim, layers):
    torch.manual_seed(0)
    made = A.MADE(dim, 32, layers, dtype=F64)
    x = torch.bernoulli(torch.full((3, dim), 0.5, dtype=F64))
    base = made(x)
    for j in range(dim):
        y = x.clone()
        y[:, j] = 1 - y[:, j]
        changed = (made(y) - base).abs().amax(0) > 0
        assert not changed[: j + 1].any(), f"output i <= {j} changed when x_{j} changed"
    jac = torch.autograd.functional.jacobian(lambda v: made(v.unsqueeze(0))[0], x[0])
    assert torch.equal(jac.triu() != 0, torch.zeros_like(jac, dtype=torch.bool))  # d out_i / d x_j = 0 for j >= i


def test_made_log_prob_is_the_sum_of_its_conditionals():
    torch.manual_seed(0)
    made = A.MADE(6, 16, dtype=F64)
    x = torch.bernoulli(torch.full((4, 6), 0.5, dtype=F64))
    logits = made(x)
    manual = (x * torch.nn.functional.logsigmoid(logits) + (1 - x) * torch.nn.functional.logsigmoid(-logits)).sum(-1)
    assert torch.allclose(made.log_prob(x), manual, atol=1e-12)
    # and it is a distribution: the probabilities of all 2^6 images sum to one
    grid = torch.tensor([[(i >> k) & 1 for k in range(6)] for i in range(64)], dtype=F64)
    assert made.log_prob(grid).exp().sum().item() == pytest.approx(1.0, abs=1e-12)


def test_bars_log_prob_is_normalized_and_entropy_exact():
    d = A.BarsImages(3)
    grid = torch.tensor([[(i >> k) & 1 for k in range(9)] for i in range(512)], dtype=F64)
    lp = d.log_prob(grid)
    assert lp.exp().sum().item() == pytest.approx(1.0, abs=1e-12)
    assert -(lp.exp() * torch.where(lp > -math.inf, lp, torch.zeros_like(lp))).sum().item() == pytest.approx(d.entropy(), abs=1e-12)
    assert torch.isfinite(d.log_prob(d.sample(100, torch.Generator().manual_seed(0), F64))).all()


def test_sampling_takes_one_pass_per_pixel():
    for side in (3, 5):
        made = A.MADE(side * side, 16)
        assert run_ar.count_passes(made) == side * side


def test_nll_reports_are_the_metrics_quadratures():
    """One evaluation of p on the grid serves every model: the numbers are metrics' own."""
    p = A.Parabola()
    gen = torch.Generator().manual_seed(0)
    x = p.sample((500,), generator=gen)
    models = {K: A.AR2D((1, 0), components=K, hidden=8, dtype=F64) for K in (1, 3)}
    box = (-3.0, 3.0, -2.0, 4.0)
    reports = run_ar.nll_reports(models, p, x, box, 80)
    for K, m in models.items():
        r = reports[K]
        assert r.entropy == pytest.approx(metrics.entropy_on_grid(p.log_prob, box, 80).item(), abs=1e-12)
        assert r.cross_entropy == pytest.approx(metrics.cross_entropy_on_grid(p.log_prob, m.log_prob, box, 80).item(),
                                                abs=1e-12)
        with torch.no_grad():
            assert r.test_nll == pytest.approx(-m.log_prob(x).mean().item(), abs=1e-12)
    assert run_ar.nll_report(models[3], p, x, box, 80) == reports[3]


def test_fit_ar_stages_run_one_after_the_other():
    x = A.Parabola().sample((200,), generator=torch.Generator().manual_seed(0))
    staged = run_ar.fit_ar(x, steps=((1e-2, 5), (1e-3, 3)), hidden=8, generator=torch.Generator().manual_seed(1),
                           snapshot_every=4, progress=False)
    assert len(staged.history.loss) == 8
    assert [step for step, _ in staged.snapshots] == [0, 4, 5, 8]  # every 4 steps and the end of each stage, numbered overall
    plain = run_ar.fit_ar(x, steps=5, lr=1e-2, hidden=8, generator=torch.Generator().manual_seed(1), progress=False)
    assert staged.history.loss[:5] == plain.history.loss  # the first stage is the int form


# ------------------------------------------------------------------ the numbers on the page
@pytest.fixture(scope="module")
def moons():
    torch.set_num_threads(1)
    run, p, x_train, x_test = run_ar.train_moons(generator=gencore.generator(0), progress=False)
    return run, p, x_train, x_test, run_ar.nll_report(run.model, p, x_test)


@pytest.mark.slow
@pytest.mark.claim
def test_page_moons_mdn_close_to_entropy(moons):
    run, p, x_train, x_test, rep = moons
    # H(p) of the moons against an independent estimate: the Monte Carlo mean of -log p on the test set
    mc = -p.log_prob(x_test.double())
    assert abs(rep.entropy - mc.mean().item()) < 4 * mc.std().item() / math.sqrt(len(mc))
    assert 0 < rep.kl < 0.1  # page: the KL gap, glued (0.045 at seed 0)
    assert abs(rep.test_nll - rep.cross_entropy) < 4 * rep.test_nll_se + 0.01  # Monte Carlo agrees
    m = run.model64
    assert log_integral(m.log_prob, (-9, 9, -9, 9), 600, dtype=F64).item() == pytest.approx(0, abs=2e-3)


@pytest.mark.slow
@pytest.mark.claim
def test_page_bins_nll_improves_with_bins_but_stays_above_mdn(moons):
    run, p, x_train, x_test, rep = moons
    runs = run_ar.bins_runs(x_train, generator=gencore.generator(0), progress=False)
    ce = {B: run_ar.nll_report(r.model, p, x_test).cross_entropy for B, r in runs.items()}
    Bs = sorted(ce)
    assert all(ce[a] > ce[b] for a, b in zip(Bs, Bs[1:]))  # page: more bins, lower NLL
    assert ce[Bs[-1]] > rep.cross_entropy  # page: even 64 bins stay above the MDN
    assert ce[8] - rep.entropy > 0.5  # page: 8 bins cost more than half a nat (glued)


@pytest.mark.slow
@pytest.mark.claim
def test_page_ordering_effect():
    torch.set_num_threads(1)
    runs, p, x_test = run_ar.ordering_runs(generator=gencore.generator(0), progress=False)
    table = run_ar.ordering_table(runs, p, x_test)
    assert table[((0, 1), 1)][0] < 0.02  # page: natural order, one Gaussian: KL < 0.02
    assert table[((1, 0), 1)][0] > 1.0  # page: reverse order, one Gaussian: KL > 1 nat
    assert table[((1, 0), 5)][0] < 0.1  # page: five components repair it


@pytest.mark.slow
@pytest.mark.claim
def test_page_bars_made_near_entropy_factorized_far():
    run = run_ar.train_bars(generator=gencore.generator(0), progress=False)
    H = run.data.entropy()
    assert run.nll_made - H < 0.5  # page: MADE within half a nat of the entropy
    assert run.nll_factorized == pytest.approx(36 * math.log(2), abs=0.1)  # page: 36 log 2 nats
    g = gencore.generator(1)
    valid = torch.isfinite(run.data.log_prob(run.made.sample(200, g))).float().mean().item()
    valid_fac = torch.isfinite(run.data.log_prob(run.factorized.sample(200, g))).float().mean().item()
    assert valid > 0.8 and valid_fac < 0.05  # page: most MADE samples are bars; independent pixels almost never


def test_timing_rows_shape_and_growth():
    torch.set_num_threads(1)
    rows = run_ar.sampling_times(generator=gencore.generator(0))  # the page's call
    assert [r[1] for r in rows] == [16, 64, 144, 256, 576]
    # timings scatter on a shared machine, so the page glues them; what holds anywhere: D passes
    # cost more than one, and 576 pixels take longer than 16
    assert rows[-1][2] > rows[0][2]
    assert all(t_seq > t_one for _, D, t_seq, t_one in rows)


def test_greedy_decoding_gives_one_image():
    torch.manual_seed(0)
    made = A.MADE(9, 16)
    x = made.sample(5, greedy=True)
    assert (x == x[0]).all()  # page: every greedy "sample" is the same image


@pytest.mark.slow
def test_gallery_sampler():
    from gencore import data

    p = data.make("moons", dtype=F64)
    g = torch.Generator().manual_seed(0)
    train, test = p.sample((4000,), generator=g), p.sample((1000,), generator=g)
    x = run_ar.gallery_sampler(train, 1000, torch.Generator().manual_seed(1))
    assert x.shape == (1000, 2) and x.dtype == F64 and torch.isfinite(x).all()
    sw = metrics.sliced_w2(x, test).item()
    assert sw < 0.15


# ------------------------------------------------------------------ the exercise checker, both ways
def test_check_mixture_log_prob_accepts_the_reference():
    assert check.check_mixture_log_prob(A.mixture_log_prob)


def _naive(y, logits, means, scales):
    dens = torch.exp(-0.5 * ((y.unsqueeze(-1) - means) / scales) ** 2) / (scales * math.sqrt(2 * math.pi))
    return torch.log((torch.softmax(logits, -1) * dens).sum(-1))


def _log_n(y, means, scales):
    return -0.5 * ((y.unsqueeze(-1) - means) / scales) ** 2 - torch.log(scales) - 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize("wrong,phrase", [
    (lambda y, l, m, s: torch.logsumexp(l + _log_n(y, m, s), -1), "not normalized"),
    (lambda y, l, m, s: torch.logsumexp(torch.log_softmax(l, -1) + _log_n(y, m, s) + torch.log(s), -1), "scale s_k"),
    (lambda y, l, m, s: (torch.log_softmax(l, -1) + _log_n(y, m, s)).sum(-1), "not their logs"),
    (lambda y, l, m, s: (torch.softmax(l, -1) * _log_n(y, m, s)).sum(-1), "Jensen"),
    (_naive, "log space"),
    (lambda y, l, m, s: A.mixture_log_prob(y, l, m, s).double(), "float32"),
    (lambda y, l, m, s: A.mixture_log_prob(y, l, m, s)[:, None], "shape"),
    (lambda y, l, m, s: 1 / 0, "ZeroDivisionError"),
])
def test_check_mixture_log_prob_explains_wrong_answers(wrong, phrase):
    verdict = check.check_mixture_log_prob(wrong)
    assert not verdict and phrase in verdict.message, verdict.message


def test_reverse_conditional_modes_of_the_parabola():
    """ex-ar-reverse: p(x1 | x2) has modes at +-sqrt((x2 + 1.2 - s^2/1.6)/0.8), inside the branches."""
    p = A.Parabola()
    x1 = torch.linspace(-4, 4, 400_001, dtype=F64)
    for x2 in (-1.0, 0.0, 1.5):
        lp = p.log_prob(torch.stack([x1, torch.full_like(x1, x2)], -1))
        right = x1[x1 > 0][lp[x1 > 0].argmax()].item()
        mode = math.sqrt((x2 + 1.2 - 0.15**2 / 1.6) / 0.8)
        assert right == pytest.approx(mode, abs=1e-4)
        assert right < math.sqrt((x2 + 1.2) / 0.8) - 1e-3  # the N(0, 1) factor pulls it inward
        assert lp[x1.abs().argmin()] < lp.max()  # x1 = 0 is not the mode
    x2 = -1.2 + 0.5 * 0.15**2 / 1.6  # below the threshold: one mode, at 0
    lp = p.log_prob(torch.stack([x1, torch.full_like(x1, x2)], -1))
    assert abs(x1[lp.argmax()].item()) < 1e-4


# ------------------------------------------------------------------ device: shapes only, on the meta device
def test_meta_device_log_probs_and_one_pass():
    meta = torch.device("meta")
    y = torch.empty(7, device=meta)
    logits = torch.empty(7, 4, device=meta)
    assert A.mixture_log_prob(y, logits, logits, logits).device == meta
    assert A.binned_log_prob(y, logits, -1.0, 1.0).shape == (7,)
    q = A.AR2D(components=3, device=meta)
    assert q.log_prob(torch.empty(5, 2, device=meta)).shape == (5,)
    made = A.MADE(9, 16, device=meta)
    out = made.log_prob(torch.empty(3, 9, device=meta))
    assert out.device == meta and out.shape == (3,)
    assert A.Parabola().log_prob(torch.empty(6, 2, device=meta)).shape == (6,)


def test_samples_follow_the_device_and_dtype_asked():
    g = torch.Generator().manual_seed(0)
    assert A.Parabola().sample((3,), g, dtype=torch.float32).dtype == torch.float32
    assert A.BarsImages(3).sample(4, g, dtype=F64).dtype == F64


# ------------------------------------------------------------------- device: the stand-in accelerator
def test_chapter_recipes_and_sliders_run_on_the_device_with_the_cpus_numbers():
    """The chapter's recipes on a stand-in accelerator (tests/fakedevice.py): no host tensor meets a device
    one, the numbers are the CPU's (data and weights drawn by CPU generators), and the sliders and the
    bars figure take the device's models and draw from the host."""
    from fakedevice import active

    from gencore.figures import autoregressive as fig

    def recipes(device=None):
        g = torch.Generator().manual_seed(0)
        ar, p, x_train, x_test = run_ar.train_moons(200, 500, steps=((1e-2, 5),), generator=g, progress=False,
                                                 device=device)
        report = run_ar.nll_report(ar.model, p, x_test, resolution=40)
        bins = run_ar.bins_runs(x_train, bins=(8, 16), steps=((1e-2, 3),), generator=g, progress=False)
        orders, parabola, x_par = run_ar.ordering_runs(200, components=(1, 2), steps=((1e-2, 3),), generator=g,
                                                    progress=False, device=device)
        table = run_ar.ordering_table(orders, parabola, x_par, resolution=40)
        bars = run_ar.train_bars(3, 100, steps=((1e-2, 3),), batch=20, hidden=16, generator=g, progress=False,
                              device=device)
        samples = run_ar.bars_samples(bars, 4, generator=g)
        demos = [fig.conditional_slider(ar.model, p, x1s=(-1.0, 0.0), resolution=20),
                 fig.bins_slider(bins, run_ar.nll_reports({B: r.model for B, r in bins.items()}, p, x_test, resolution=40),
                                 report, resolution=20),
                 fig.ordering_slider(orders, table, parabola, resolution=20)]
        fig.bars_figure(bars, samples)
        pcnn = run_ar.train_pixelcnns(bars, depths=(1, 2), channels=2, steps=((1e-2, 2),), batch=20, max_depth=3,
                                      generator=g, progress=False)
        fig.context_floor_figure(pcnn)
        numbers = (report, table, bars.nll_made, bars.nll_factorized, [x.cpu() for _, x in samples],
                   (pcnn.floors, pcnn.gaps, pcnn.made_gap))
        return numbers, demos

    on_cpu, _ = recipes()
    with active() as dev:
        on_device, demos = recipes(dev)
    assert on_cpu[:4] == on_device[:4]
    assert all(torch.equal(a, b) for a, b in zip(on_cpu[4], on_device[4]))
    assert on_cpu[5] == on_device[5]  # the PixelCNNs' floors and exact NLLs
    for demo in demos:  # outside the stand-in: the frames need nothing from the device
        assert demo.render(demo.initial_index)[:4] == b"\x89PNG"


# ------------------------------------------------------------------ issue 18: masked convolutions
def test_conv_masks_follow_the_raster_order():
    from gencore import masked_conv as M

    for k in (1, 3, 5):
        centre = (k * k) // 2  # the centre's index when the kernel is read in raster order
        index = torch.arange(k * k).reshape(k, k)
        assert torch.equal(M.conv_mask(k, "A"), (index < centre).float())
        assert torch.equal(M.conv_mask(k, "B"), (index <= centre).float())
    with pytest.raises(ValueError, match="kernel"):
        M.conv_mask(4)


def test_pixelcnn_jacobian_is_strictly_lower_triangular_and_a_type_b_first_layer_would_leak():
    from gencore import masked_conv as M
    from gencore.nn import build

    g = torch.Generator().manual_seed(0)
    net = build(lambda: M.PixelCNN(5, channels=6, layers=3, dtype=F64), g)
    J = M.input_jacobian(net, torch.rand(25, generator=g, dtype=F64))
    assert J.triu().abs().max() == 0  # dy_i/dx_j = 0 for every j >= i
    assert (J.diagonal(-1)[torch.arange(24) % 5 != 4] != 0).all()  # each pixel reads its left neighbour
    leaky = build(lambda: M.MaskedConv2d(1, 1, 3, "B", dtype=F64), g)
    J_b = M.input_jacobian(lambda x: leaky(x.reshape(-1, 1, 5, 5)).reshape(-1, 25), torch.rand(25, dtype=F64))
    assert (J_b.diagonal() != 0).all()  # type B first: every output reads its own pixel


@pytest.mark.parametrize("kernel,depths", [(3, (1, 2, 3, 4)), (5, (1, 2))])
def test_receptive_field_by_autograd_is_the_offset_argument(kernel, depths):
    from gencore import masked_conv as M
    from gencore.nn import build

    side = 9
    for depth in depths:
        net = build(lambda: M.PixelCNN(side, channels=4, layers=depth, kernel=kernel, dtype=F64),
                    torch.Generator().manual_seed(depth))
        for pixel in (40, 13, 71):
            assert torch.equal(M.receptive_field(net, side, pixel), M.reachable(side, pixel, depth, kernel))


def test_the_blind_spot_is_the_triangle_of_eq_ar_blind_spot_at_any_depth():
    from gencore import masked_conv as M

    side, r, c = 11, 8, 3
    field = M.reachable(side, r * side + c, depth=20)  # deep enough to reach every corner it ever can
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    before = rows * side + cols < r * side + c
    blind = (rows < r) & (cols - c > r - rows)
    assert torch.equal(before & ~field, blind) and blind.sum() > 0
    assert not (field & ~before).any()


def test_pixelcnn_is_normalized_over_all_binary_images():
    from gencore import masked_conv as M
    from gencore.nn import build

    net = build(lambda: M.PixelCNN(2, channels=4, layers=2, dtype=F64), torch.Generator().manual_seed(1))
    images = torch.tensor([[(b >> i) & 1 for i in range(4)] for b in range(16)], dtype=F64)
    assert net.log_prob(images).exp().sum().item() == pytest.approx(1.0, abs=1e-12)
    x = net.sample(5, torch.Generator().manual_seed(2))
    assert x.shape == (5, 4) and set(x.unique().tolist()) <= {0.0, 1.0}


def test_chapter_receptive_fields_recipe():
    fields = run_ar.receptive_fields(side=7, depths=(1, 3), channels=4, generator=torch.Generator().manual_seed(0))
    assert set(fields) == {1, 3} and all(leak == 0 for _, leak in fields.values())
    assert fields[1][0].sum() == 4 and fields[3][0].sum() > fields[1][0].sum()  # a 3x3 type-A kernel reads 4


# ------------------------------------------------------------------ issue 18: decoding strategies
def _decode_reference(p, T=1.0, k=None, top_p=None):
    """Plain-Python eq-ar-decoding on one probability vector: temper, sort, cut, renormalize."""
    q = [pi ** (1 / T) for pi in p]
    q = [qi / sum(q) for qi in q]
    order = sorted(range(len(q)), key=lambda i: -q[i])
    keep = order[:k] if k else order
    if top_p is not None:
        mass = sum(q[i] for i in keep)
        kept, total = [], 0.0
        for i in keep:
            kept.append(i)
            total += q[i] / mass
            if total >= top_p:
                break
        keep = kept
    z = sum(q[i] for i in keep)
    return [q[i] / z if i in keep else 0.0 for i in range(len(q))]


@pytest.mark.parametrize("T,k,top_p", [(1.0, None, None), (0.5, None, None), (2.0, None, None), (1.0, 3, None),
                                       (1.0, None, 0.6), (0.7, 4, 0.9), (1.0, 1, None), (1.0, None, 1.0)])
def test_decode_probs_is_the_closed_form(T, k, top_p):
    from gencore import decoding

    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        p = torch.softmax(2 * torch.randn(7, generator=g, dtype=F64), -1)
        got = decoding.decode_probs(p.log(), temperature=T, top_k=k, top_p=top_p)
        ref = torch.tensor(_decode_reference(p.tolist(), T, k, top_p), dtype=F64)
        assert torch.allclose(got, ref, atol=1e-12), (got, ref)
    # batched rows are decoded independently
    logits = torch.randn(3, 5, 7, generator=g, dtype=F64)
    q = decoding.decode_probs(logits, top_p=0.8)
    assert torch.allclose(q[1, 2], decoding.decode_probs(logits[1, 2], top_p=0.8))


def test_decode_limits():
    from gencore import decoding

    logits = torch.tensor([0.3, 2.0, -1.0, 1.0], dtype=F64)
    assert torch.equal(decoding.decode_probs(logits, top_k=1), torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=F64))
    cold = decoding.decode_probs(logits, temperature=1e-3)
    assert cold[1] > 1 - 1e-12  # T -> 0 is greedy
    assert torch.allclose(decoding.decode_probs(logits, top_p=1.0), torch.softmax(logits, -1))
    tiny = decoding.decode_probs(logits, top_p=1e-9)
    assert torch.equal(tiny, torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=F64))  # the nucleus keeps at least one token


def _enumerate(lang, q, max_len):
    """All sequences up to max_len letters with their probabilities under the chain q (brute force)."""
    V, out, frontier = lang.letters, {}, [((), 0, 1.0)]
    for _ in range(max_len + 1):
        nxt = []
        for seq, state, pr in frontier:
            out[seq] = pr * q[state, V].item()
            nxt += [(seq + (j,), j + 1, pr * q[state, j].item()) for j in range(V) if q[state, j] > 0]
        frontier = nxt
    return out


@pytest.mark.parametrize("strategy", [{}, dict(temperature=0.5), dict(top_k=2), dict(top_p=0.7)])
def test_bigram_language_exact_statistics(strategy):
    """Short lengths by brute-force enumeration; mean length from the pmf; entropy and KL by Monte Carlo."""
    from gencore import decoding

    lang = decoding.BigramLanguage(2, end_logit=3.0)
    q = lang.chain(**strategy)
    seqs = _enumerate(lang, q, 12)
    ex = lang.exact(max_length=400, **strategy)
    pmf = ex["length_pmf"]
    for n in range(1, 13):
        assert pmf[n - 1].item() == pytest.approx(sum(pr for s, pr in seqs.items() if len(s) == n), abs=1e-13)
    lengths = torch.arange(1, 401, dtype=F64)
    assert pmf.sum().item() == pytest.approx(1.0, abs=1e-10)
    assert ex["mean_length"] == pytest.approx((lengths * pmf).sum().item(), rel=1e-9)
    live = [s for s, pr in seqs.items() if pr > 0]
    assert torch.allclose(lang.log_prob(live, **strategy).exp(), torch.tensor([seqs[s] for s in live], dtype=F64),
                          rtol=1e-10)
    sample = lang.sample(20_000, torch.Generator().manual_seed(0), **strategy)
    log_q, log_p = lang.log_prob(sample, **strategy), lang.log_prob(sample)
    for value, terms in ((ex["entropy"], -log_q), (ex["kl"], log_q - log_p), (ex["log_p"], log_p)):
        assert abs(terms.mean().item() - value) < 5 * terms.std().item() / math.sqrt(20_000) + 1e-12
    assert sum(map(len, sample)) / 20_000 == pytest.approx(ex["mean_length"], abs=5 * lengths.std().item())


def test_a_strategy_that_never_ends_is_refused():
    from gencore import decoding

    lang = decoding.BigramLanguage(2, end_logit=3.0)
    with pytest.raises(ValueError, match="never end"):
        lang.exact(top_k=1)  # greedy: the end token is never the most probable after a letter here


@pytest.mark.claim
def test_chapter_decoding_samples_agree_with_the_exact_statistics():
    """'The sampled columns agree with the exact ones up to Monte Carlo error' (the page's call)."""
    from gencore import decoding

    lang = decoding.BigramLanguage()
    strategies = {"model": {}, "cold": dict(temperature=0.5), "hot": dict(temperature=1.5), "topk": dict(top_k=2),
                  "topp": dict(top_p=0.8)}
    table = run_ar.decoding_table(lang, strategies, n=1000, generator=gencore.generator(12))
    for name, r in table.items():
        pmf = r["length_pmf"]
        assert pmf.sum().item() == pytest.approx(1.0, abs=1e-4)  # lengths 1..200 hold nearly all the mass
        lengths = torch.arange(1, len(pmf) + 1, dtype=F64)
        sd = ((pmf * lengths**2).sum() - r["mean_length"] ** 2).sqrt().item()
        assert abs(r["mean_length_mc"] - r["mean_length"]) < 4 * sd / math.sqrt(1000), name
        assert abs(r["entropy_mc"] - r["entropy"]) < 4 * r["entropy_mc_se"], name
    # the page's reading of the exact numbers (fixed language: the same at every seed)
    e = {k: r for k, r in table.items()}
    per_token = {k: r["entropy"] / (r["mean_length"] + 1) for k, r in e.items()}
    assert e["model"]["kl"] == pytest.approx(0, abs=1e-12) and all(e[k]["kl"] > 0.1 for k in ("cold", "topk", "topp"))
    assert e["topk"]["entropy"] < e["topp"]["entropy"] < e["model"]["entropy"] < e["cold"]["entropy"]
    assert per_token["cold"] < per_token["model"] and e["cold"]["mean_length"] > e["model"]["mean_length"] + 3
    assert e["topk"]["kl"] > e["topp"]["kl"]


# ------------------------------------------------------------------ issue 18: the affine-flow view
def test_gaussian_ar_is_an_affine_autoregressive_flow():
    from gencore import ar_flow, flows
    from gencore.nn import build

    g = torch.Generator().manual_seed(0)
    ar = build(lambda: ar_flow.GaussianAR(5, 12, layers=2, dtype=F64), g)
    z = torch.randn(7, 5, generator=g, dtype=F64)
    x = ar.from_noise(z)
    z_back, log_det = ar.to_noise(x)
    assert torch.allclose(z_back, z, atol=1e-12)
    assert torch.allclose(log_det, flows.log_abs_det_autograd(ar.to_noise, x), atol=1e-12)
    # the chain rule with Gaussian factors, each from torch.distributions, against the change of variables
    mu, log_sigma = ar.conditioner(x)
    chain = torch.distributions.Normal(mu, log_sigma.exp()).log_prob(x).sum(-1)
    cov = torch.distributions.Normal(0.0, 1.0).log_prob(z_back).sum(-1) + log_det
    assert torch.allclose(ar.log_prob(x), chain, atol=1e-12) and torch.allclose(chain, cov, atol=1e-12)
    # mu_i and sigma_i read x_{<i} only: their Jacobians are strictly lower triangular
    for out in (0, 1):
        J = torch.autograd.functional.jacobian(lambda u: ar.conditioner(u[None])[out][0], x[0])
        assert J.triu().abs().max() == 0


def test_chapter_ar_flow_check():
    chk = run_ar.ar_flow_check(dim=4, generator=torch.Generator().manual_seed(3))
    assert chk["log_prob_gap"] < 1e-12 and chk["log_det_gap"] < 1e-12 and chk["round_trip"] < 1e-12
    assert chk["upper"] == 0 and chk["passes"] == dict(density=1, sampling=4)


# ------------------------------------------------------------------ issue 18: what a PixelCNN cannot see
def _plain_conditional_entropy(atoms, probs, i, seen):
    """H(X_i | X_seen) in nats, from dictionaries of marginal probabilities (no torch.unique)."""
    joint, given = {}, {}
    for x, p in zip(atoms, probs):
        key = tuple(x[j] for j in seen)
        joint[key + (x[i],)] = joint.get(key + (x[i],), 0.0) + p
        given[key] = given.get(key, 0.0) + p
    return -sum(p * math.log(p / given[k[:-1]]) for k, p in joint.items())


def test_bars_support_is_every_image_of_positive_probability():
    d = A.BarsImages(3)
    grid = torch.tensor([[(i >> k) & 1 for k in range(9)] for i in range(512)], dtype=F64)
    lp = d.log_prob(grid)
    images, probs = d.support()
    assert len(images) == 2 ** 4 - 2 and probs.sum().item() == pytest.approx(1.0, abs=1e-12)
    expected = {tuple(x.tolist()): math.exp(v) for x, v in zip(grid, lp.tolist()) if v > -math.inf}
    assert {tuple(x.tolist()): p for x, p in zip(images, probs.tolist())} == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_context_floor_is_the_sum_of_conditional_entropies(seed):
    from gencore import masked_conv as M

    g = torch.Generator().manual_seed(seed)
    D = 5
    atoms = torch.tensor([[(i >> k) & 1 for k in range(D)] for i in range(2 ** D)], dtype=F64)
    keep = torch.rand(2 ** D, generator=g) < 0.5
    atoms, probs = atoms[keep], torch.rand(int(keep.sum()), generator=g, dtype=F64) + 0.1
    probs = probs / probs.sum()
    visible = (torch.rand(D, D, generator=g) < 0.5).tril(-1)
    rows = [x.tolist() for x in atoms]
    reference = sum(_plain_conditional_entropy(rows, probs.tolist(), i, torch.nonzero(visible[i]).flatten().tolist())
                    for i in range(D))
    assert M.context_floor(atoms, probs, visible) == pytest.approx(reference, abs=1e-12)
    entropy = -(probs * probs.log()).sum().item()
    everything = torch.ones(D, D, dtype=torch.bool).tril(-1)  # the chain rule: the floor is H(p)
    assert M.context_floor(atoms, probs, everything) == pytest.approx(entropy, abs=1e-12)
    nothing = torch.zeros(D, D, dtype=torch.bool)  # no context: the sum of the marginal entropies
    marginals = sum(_plain_conditional_entropy(rows, probs.tolist(), i, []) for i in range(D))
    assert M.context_floor(atoms, probs, nothing) == pytest.approx(marginals, abs=1e-12)
    assert M.context_floor(atoms, probs, nothing) >= M.context_floor(atoms, probs, visible) >= entropy - 1e-12


def test_context_floor_refuses_what_is_not_an_ordered_model():
    from gencore import masked_conv as M

    atoms, probs = torch.eye(3, dtype=F64), torch.full((3,), 1 / 3, dtype=F64)
    with pytest.raises(ValueError, match="visible must be strictly lower triangular"):
        M.context_floor(atoms, probs, torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"visible must be a \(3, 3\) boolean"):
        M.context_floor(atoms, probs, torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="probs must be positive and sum to one"):
        M.context_floor(atoms, 2 * probs, torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="one entry per atom"):
        M.context_floor(atoms, probs[:2], torch.zeros(3, 3, dtype=torch.bool))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_no_pixelcnn_beats_its_floor_and_exact_nll_sums_over_every_image(depth):
    from gencore import masked_conv as M
    from gencore.nn import build

    d = A.BarsImages(3)
    grid = torch.tensor([[(i >> k) & 1 for k in range(9)] for i in range(512)], dtype=F64)
    p = d.log_prob(grid).exp()
    floor = M.context_floor(*d.support(), run_ar.pixelcnn_visible(3, depth))
    for seed in range(4):
        net = build(lambda: M.PixelCNN(3, channels=4, layers=depth, dtype=F64), torch.Generator().manual_seed(seed))
        with torch.no_grad():
            brute = -(p * net.log_prob(grid)).sum().item()  # all 512 binary images, p = 0 off the data
        assert run_ar.exact_nll(net, d) == pytest.approx(brute, abs=1e-10)
        assert brute >= floor
    if depth != 2:
        return
    x = d.sample(400, torch.Generator().manual_seed(9), F64)
    net = build(lambda: M.PixelCNN(3, channels=8, layers=depth, dtype=F64), torch.Generator().manual_seed(5))
    before = run_ar.exact_nll(net, d)
    opt = torch.optim.Adam(net.parameters(), lr=3e-2)
    for _ in range(150):  # trained: closer to its floor, still above it
        opt.zero_grad()
        (-net.log_prob(x).mean()).backward()
        opt.step()
    assert floor <= run_ar.exact_nll(net, d) < before


@pytest.mark.slow
@pytest.mark.claim
def test_page_pixelcnn_floors_flatten_at_the_blind_spot_and_every_model_sits_above_its_floor():
    bars = run_ar.train_bars(generator=gencore.generator(0), progress=False)
    pcnn = run_ar.train_pixelcnns(bars, depths=(2, 3, 5), generator=gencore.generator(14), progress=False)
    floors = [pcnn.floors[L] for L in sorted(pcnn.floors)]
    assert all(a > b + 1e-3 for a, b in zip(floors[:4], floors[1:5]))  # page: falls up to five layers
    assert max(floors[4:]) - min(floors[4:]) < 1e-9 and floors[-1] > 0.1  # page: then flat, the blind spot's price
    assert floors[0] > 1.0  # page: about a nat with one layer
    assert all(pcnn.gaps[L] >= pcnn.floors[L] for L in pcnn.gaps)  # page: every trained model above its floor
    assert pcnn.made_gap > 0
