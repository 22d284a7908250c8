"""The descent loop that every iterative trainer of the package runs.

:class:`~sklearn_shallowrelu.RandomFeatureReLURegressor` (the output layer:
gradient or mirror descent on a least-squares problem) and
:class:`~sklearn_shallowrelu.ShallowReLURegressor` (both layers: GD, SGD or
mirror descent) run the same loop, :func:`descend`, over a :class:`Walk`.  The
trainer supplies the step (its gradient, its batches, its mirror map, through
:func:`mirror_step` where it has one); the loop does the rest, in the same way
for both:

- the step of ``learning_rate='auto'``: :func:`auto_step` at the start and,
  where the trainer asks for it, backtracking along the run (a step that
  raises the training loss is undone and retried at half the step): the
  two-layer network and output-layer mirror descent do, output-layer gradient
  descent does not (its loss is quadratic, so half the global stability limit
  never raises it);
- divergence: a training loss above ``DIVERGENCE_FACTOR (L_0 + 1)``, or a loss
  or point that is not finite, ends the run at the last finite iterate and
  raises :class:`Diverged`, which carries the iterate of lowest training loss
  for a rollback (:func:`divergence_warning` words the warning);
- the record: the training and validation curves, the validation-best
  iterate of early stopping (split off by :func:`validation_split`) and the
  stopping rule (:class:`NoImprovement`).
"""

import math
import time

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ._warn import warn

__all__ = [
    "DIVERGENCE_FACTOR", "MAX_HALVINGS", "Diverged", "NoImprovement", "Snapshot", "Walk", "auto_step",
    "check_early_stopping", "descend", "divergence_warning", "is_stable", "mirror_step", "rounding_slack",
    "stability_limit", "stopping_rule", "validation_split",
]

#: A run has diverged once its training loss exceeds ``DIVERGENCE_FACTOR * (L_0 + 1)``,
#: ``L_0`` the loss at its start.  A stable step does not raise the loss of the linear
#: problems at all and raises a network's only transiently, by far less than this; an
#: unstable one multiplies it by a fixed factor per step, so it crosses the level a few
#: dozen steps after leaving the stable range, long before it overflows, while the
#: iterate kept is still finite.  The ``+ 1`` keeps the level off zero when the start
#: already fits the data (``L_0 = 0``), at the scale of standardized targets.
DIVERGENCE_FACTOR = 1e8

#: Backtracking halves a step at most this often within one iteration: by then the
#: step is ``2^-60`` of the first one and moves the point by less than its rounding,
#: so a loss that still rises is at its rounding floor.
MAX_HALVINGS = 60

#: After this many steps in a row taken without a halving, a walk with a step ceiling
#: (``Walk.eta_cap``) doubles a step that backtracking lowered, up to the ceiling.  A step
#: halved at a kink of a piecewise-smooth loss (ReLU units whose knots cross data points,
#: where gradient descent zigzags) would otherwise stay small for the rest of the run: with
#: weight decay a run stalled at a step of 1e-9, 1.3% above what a fixed step reaches.  The
#: retry costs at most one rejected step in this many.
GROW_AFTER = 20

#: :func:`rounding_slack`: a rise of the loss by this many units in the last place of its
#: dtype is within the rounding of a sum over the samples, so it is no rise.
_SLACK_ULPS = 64


# ------------------------------------------------------------------ step size


def rounding_slack(dtype):
    """The ``slack`` of a :class:`Walk` that tolerates the rounding of a loss in ``dtype``."""
    return 1.0 + _SLACK_ULPS * np.finfo(dtype).eps


def stability_limit(curvature, scale=1.0):
    """``2 scale / curvature``: the largest stable step of a descent.

    Gradient descent with step ``eta`` is linearly stable at a minimum only if
    ``eta curvature <= 2``; mirror descent is locally gradient descent
    preconditioned by ``diag(phi'')``, so there ``scale = min phi''``
    (:meth:`~sklearn_shallowrelu.potentials.Potential.step_scale`).  Read the
    other way, ``stability_limit(eta)`` is the largest curvature that a step
    ``eta`` tolerates.  Infinite when the curvature is not positive.
    """
    return 2.0 * scale / curvature if curvature > 0 else np.inf


def is_stable(eta, curvature, scale=1.0):
    """Whether the step ``eta`` is within :func:`stability_limit` of ``curvature``."""
    return eta * curvature <= 2.0 * scale


def auto_step(curvature, scale=1.0):
    """The step of ``learning_rate='auto'``: ``scale / curvature``, half the stability limit.

    Half leaves room for the curvature to grow along the run before the step
    becomes unstable.  Zero curvature (nothing to train along any direction
    reached) takes 1, which keeps the numbers of order one.
    """
    return scale / curvature if curvature > 0 else 1.0


def mirror_step(start, dual, grad, step, potential):
    """One mirror step ``phi'(x_new - x_0) = phi'(x - x_0) - step grad``.

    Parameters
    ----------
    start : ndarray
        ``x_0``, where the potential is centred.
    dual : ndarray
        ``phi'(x - x_0)`` at the current point.
    grad : ndarray
        The gradient of the loss at the current point.
    step : float
    potential : Potential

    Returns
    -------
    point, dual : ndarray
        New arrays (the old ones stay valid for a rollback); the point in the
        dtype of ``start``.
    """
    dual = dual - step * grad
    return start + potential.grad_inv(dual).astype(start.dtype, copy=False), dual


# --------------------------------------------------------- stopping and split


class NoImprovement:
    """scikit-learn's rule: stop after ``n_iter_no_change`` iterations without a
    decrease of the monitored loss by more than ``tol`` (``MLPRegressor``'s rule)."""

    def __init__(self, tol, n_iter_no_change):
        self.tol, self.patience = tol, n_iter_no_change
        self.best = np.inf
        self.best_iter = 0
        self.count = 0

    def update(self, loss, it):
        """Record ``loss`` at iteration ``it``; return True when training should stop."""
        if loss > self.best - self.tol:
            self.count += 1
        else:
            self.count = 0
        if loss < self.best:
            self.best, self.best_iter = loss, it
        return self.count > self.patience


def stopping_rule(tol, n_iter_no_change, validating):
    """The :class:`NoImprovement` rule of the estimators' ``tol``, or None for no rule.

    With a validation split (early stopping) the rule watches the validation
    loss and ``tol=None`` means 0; without one, ``tol=None`` asks for no rule.
    """
    if tol is None and validating:
        tol = 0.0
    return None if tol is None else NoImprovement(tol, n_iter_no_change)


def check_early_stopping(n_samples):
    """Raise ``ValueError`` when there are too few samples to hold out a validation set."""
    if n_samples < 4:
        raise ValueError(f"early_stopping needs at least 4 samples to hold out a validation set; got "
                         f"{n_samples}. Set early_stopping=False.")


def validation_split(X, Y, sample_weight, fraction, rng):
    """The held-out split of early stopping, ``train_test_split``'s (as ``MLPRegressor``).

    Returns
    -------
    train, validation : tuple of (X, Y, sample_weight)
    """
    X_tr, X_val, Y_tr, Y_val, sw_tr, sw_val = train_test_split(X, Y, sample_weight, test_size=fraction,
                                                                random_state=rng)
    return (X_tr, Y_tr, sw_tr), (X_val, Y_val, sw_val)


# ------------------------------------------------------------------ divergence


class Diverged(Exception):
    """Raised by :func:`descend` when a step diverged; the walk is then at the last finite iterate.

    Attributes
    ----------
    iteration : int
        The iteration that diverged (``n_iter + 1`` of the walk).
    best : Snapshot
        The iterate of lowest training loss of the call, for
        :meth:`Walk.restore`.
    """

    def __init__(self, iteration, best):
        super().__init__(f"diverged at iteration {iteration}")
        self.iteration, self.best = iteration, best


def divergence_warning(who, iteration, eta, kept, cause):
    """Warn that ``who`` diverged, with what was kept and the cause and fix."""
    warn(f"{who} diverged at iteration {iteration} with learning_rate={eta:.4g}. {kept} {cause}",
         ConvergenceWarning)


# ------------------------------------------------------------------------ loop


class Snapshot:
    """What :meth:`Walk.restore` puts back: references to the point (a step makes new
    arrays and never writes into the old ones), the counters and the curves' lengths."""

    __slots__ = ("point", "loss", "n_iter", "best", "best_iter", "lengths")

    def __init__(self, point, loss, n_iter, best, best_iter, lengths):
        self.point, self.loss, self.n_iter = point, loss, n_iter
        self.best, self.best_iter, self.lengths = best, best_iter, lengths


class Walk:
    """A trainer's side of :func:`descend`: its point, its step, and the record.

    A subclass holds the current point and implements :meth:`advance`,
    :meth:`point`, :meth:`set_point`, :meth:`model`, :meth:`finite` and, with a
    validation split, :meth:`validation_loss`; it may extend :meth:`on_record`,
    :meth:`lists` and :meth:`local_step`.  It calls :meth:`begin` with the
    loss at its start before the loop runs.

    Parameters
    ----------
    eta : float or None
        The step; None until the trainer knows it (set ``eta`` before the loop).
    losses : list of float
        The training-loss curve, appended to in place; empty for a fresh run,
        a warm start's curve otherwise.
    val_losses : list of float or None
        The validation-loss curve; None without a validation split.
    rule : NoImprovement or None
    slack : float, default=1.0
        Backtracking rejects a step whose loss exceeds ``slack`` times the
        loss before it: 1 rejects any rise, :func:`rounding_slack` tolerates
        the rounding of the loss.
    n_iter : int, default=0
        Iterations already run (a warm start's).
    best : object, default=None
        The validation-best :meth:`model` so far, and ``best_iter`` its iteration.
    """

    def __init__(self, eta, losses, val_losses, rule, slack=1.0, n_iter=0, best=None, best_iter=None):
        self.eta, self.losses, self.val_losses, self.rule, self.slack = eta, losses, val_losses, rule, slack
        self.n_iter, self.best, self.best_iter = n_iter, best, best_iter
        self.best_val = np.inf  # of this call: a warm start's earlier best is kept until beaten
        # backtracking's ceiling for regrowing a halved step (None: a halved step stays), and
        # the steps taken in a row since the last halving or doubling
        self.eta_cap, self.accepted = None, 0
        self.loss = self.blow_up = self._curves = None

    # -------------------------------------------------- supplied by the trainer
    def advance(self, step):
        """Move to the next iterate (a step, or an epoch) with ``step``; return its training loss."""
        raise NotImplementedError

    def point(self):
        """The current point, as a rollback restores it (references suffice)."""
        raise NotImplementedError

    def set_point(self, point):
        """Make ``point`` (from :meth:`point`) the current point."""
        raise NotImplementedError

    def model(self):
        """The fitted parameters at the current point: what early stopping keeps."""
        raise NotImplementedError

    def finite(self):
        """Whether the current point is finite."""
        raise NotImplementedError

    def validation_loss(self):
        """The loss of the current point on the validation split."""
        raise NotImplementedError

    def on_record(self):
        """Called once the curves have grown by the current iterate (the start included)."""

    def lists(self):
        """The lists that grow by one entry per iterate: a rollback truncates them."""
        return [self.losses] if self.val_losses is None else [self.losses, self.val_losses]

    def local_step(self):
        """A bound on the step at the current point (a local stability limit), or None.

        With a bound, every iteration starts from ``min(eta, bound)``; without,
        from ``eta``, which backtracking lowers for good (see :func:`descend`).
        """
        return None

    # -------------------------------------------------------------- the record
    def begin(self, loss):
        """Start at training loss ``loss``: recorded if the curve is empty (a fresh run)."""
        self.loss = loss
        self._curves = self.lists()  # the same lists all run long
        if not self.losses:
            self._log(loss)
        self.blow_up = DIVERGENCE_FACTOR * (self.losses[0] + 1.0)

    def _log(self, loss):
        self.losses.append(loss)
        if self.val_losses is not None:
            self.val_losses.append(self.validation_loss())
        self.on_record()

    def record(self, loss):
        """Take the current point as the next iterate; return True when the stopping rule fires."""
        self.n_iter += 1
        self.loss = loss
        self._log(loss)
        monitored = loss
        if self.val_losses is not None:
            monitored = self.val_losses[-1]
            if monitored < self.best_val:
                self.best_val, self.best, self.best_iter = monitored, self.model(), self.n_iter
        return self.rule is not None and self.rule.update(monitored, self.n_iter)

    def snapshot(self):
        return Snapshot(self.point(), self.loss, self.n_iter, self.best, self.best_iter,
                        [len(entries) for entries in self._curves])

    def restore(self, snap):
        """Go back to ``snap``: the point, the counters, the curves and the validation best."""
        self.set_point(snap.point)
        self.loss, self.n_iter, self.best, self.best_iter = snap.loss, snap.n_iter, snap.best, snap.best_iter
        for entries, length in zip(self._curves, snap.lengths):
            del entries[length:]


def progress(n_iter, loss, val_loss, started, step=None):
    """One line of progress in scikit-learn's style (``MLPRegressor(verbose=True)``)."""
    line = f"Iteration {n_iter}, loss = {loss:.8f}"
    if val_loss is not None:
        line += f", validation loss = {val_loss:.8f}"
    if step is not None:
        line += f", step = {step:.4g}"
    print(f"{line} ({time.perf_counter() - started:.2f} s)", flush=True)


def progress_every(n_iter, verbose):
    """Iterations between two progress lines: about ten lines a run at ``verbose=1``, every iteration from 2."""
    return 1 if verbose >= 2 else max(1, n_iter // 10)


def descend(walk, n_iter, backtrack=False, verbose=0):
    """Run up to ``n_iter`` iterations of ``walk``.

    Every iteration tries ``walk.eta`` (capped by :meth:`Walk.local_step`).
    With ``backtrack`` (``learning_rate='auto'``), a step that raises the
    training loss (by more than the walk's ``slack``), or diverges, is undone and retried at
    half the step, up to :data:`MAX_HALVINGS` times; without a local bound the
    halved step is kept (it is all the run knows of the curvature it met),
    and a walk with a ceiling ``eta_cap`` doubles it again, up to the
    ceiling, after :data:`GROW_AFTER` steps in a row without a halving; with
    a local bound the next iteration starts again from the bound, which
    follows the curvature by itself.  If no halving helps, the loss is at its
    rounding floor and the run ends there.

    The run also ends when the stopping rule fires.

    Parameters
    ----------
    walk : Walk
        The trainer, after :meth:`Walk.begin` and with ``eta`` set; left at
        the last iterate taken.
    n_iter : int
        The most iterations to run.
    backtrack : bool, default=False
    verbose : int, default=0
        1: print the loss about ten times a call, and why the run ends when it
        ends early; 2 and more: at every iteration (:func:`progress`).

    Raises
    ------
    Diverged
        When a step diverges (without ``backtrack``): the loss or the point is
        not finite, or the loss exceeds :data:`DIVERGENCE_FACTOR` ``(L_0 + 1)``.
        The walk is then back at the last finite iterate.
    """
    best = walk.snapshot()  # the lowest training loss of this call
    started, every = time.perf_counter(), progress_every(n_iter, verbose)

    def report(taken):
        val = walk.val_losses[-1] if walk.val_losses else None
        progress(walk.n_iter, walk.loss, val, started, taken if backtrack else None)

    for _ in range(n_iter):
        saved = walk.snapshot()
        if saved.loss < best.loss:  # the iterate just taken
            best = saved
        local = walk.local_step()
        step = walk.eta if local is None else min(walk.eta, local)
        for halvings in range(MAX_HALVINGS + 1):
            # overflow is how divergence shows itself; it is caught just below
            with np.errstate(over="ignore", invalid="ignore"):
                loss = walk.advance(step)
                diverged = not (math.isfinite(loss) and loss <= walk.blow_up and walk.finite())
            if not (backtrack and (diverged or loss > saved.loss * walk.slack)):
                break
            walk.restore(saved)
            step *= 0.5
            if local is None:
                walk.eta = step
        else:  # no step, however small, lowers the loss: it is at its rounding floor
            if verbose:
                print(f"Iteration {walk.n_iter + 1}: no step lowers the loss (its rounding floor); stopping.")
            return
        if diverged:
            walk.restore(saved)
            raise Diverged(walk.n_iter + 1, best)
        if backtrack and local is None and walk.eta_cap is not None:
            walk.accepted = 0 if halvings else walk.accepted + 1
            if walk.accepted >= GROW_AFTER and walk.eta < walk.eta_cap:
                walk.eta, walk.accepted = min(walk.eta_cap, 2.0 * walk.eta), 0
        if walk.record(loss):
            if verbose:
                report(step)
                print(f"The stopping rule ended the run at iteration {walk.n_iter}.")
            return
        if verbose and walk.n_iter % every == 0:
            report(step)  # the step this iteration took (after any halving or local bound)
