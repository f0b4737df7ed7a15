using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Amp;

/// <summary>
/// PyTorch's <c>torch.amp.GradScaler</c> (dynamic loss scaling for fp16). fp16 gradients underflow to zero below
/// ~6e-8, so the loss is multiplied by a large <see cref="GetScale"/> before backward and the gradients divided by it
/// before clipping and the optimizer step. A step whose gradients hold inf / NaN (the scale was too large) is skipped
/// and the scale backs off; after <see cref="GrowthInterval"/> clean steps in a row it grows again.
/// </summary>
/// <remarks>
/// Use, per optimizer step: <c>Scale(loss).backward()</c>; <c>Unscale(params)</c> (before clipping);
/// <c>Step(optimizer)</c> (skipped on inf / NaN); <c>Update()</c>. <see cref="StateDict"/> holds torch's
/// <c>scaler.state_dict()</c> keys. bf16 has fp32's exponent range and needs no scaler.
/// </remarks>
public sealed class GradScaler
{
    double scale;
    int growthTracker;
    bool? foundInf; // null: not unscaled in this step yet

    /// <param name="initScale">Starting scale; default 2^16 = 65536.0.</param>
    /// <param name="growthFactor">Multiplies the scale after <paramref name="growthInterval"/> clean steps; default 2.0.</param>
    /// <param name="backoffFactor">Multiplies the scale after a step with inf / NaN gradients; default 0.5.</param>
    /// <param name="growthInterval">Clean steps in a row before growing; default 2000.</param>
    public GradScaler(double initScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000)
    {
        if (!(initScale > 0) || double.IsInfinity(initScale)) throw new ArgumentOutOfRangeException(nameof(initScale), initScale, "must be a positive finite number");
        if (!(growthFactor > 1.0)) throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, "must be > 1.0");
        if (!(backoffFactor > 0 && backoffFactor < 1.0)) throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "must be in (0, 1)");
        if (growthInterval <= 0) throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, "must be positive");
        scale = initScale;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
    }

    public double GrowthFactor { get; }
    public double BackoffFactor { get; }
    public int GrowthInterval { get; }

    /// <summary>The current scale factor.</summary>
    public double GetScale() => scale;

    /// <summary>Whether the last <see cref="Unscale"/> found an inf or NaN gradient (null before any this step).</summary>
    public bool? FoundInf => foundInf;

    /// <summary><c>loss * scale</c>, to call backward on.</summary>
    public Tensor Scale(Tensor loss) => loss * scale;

    /// <summary>
    /// Divides every gradient of <paramref name="parameters"/> by the scale, in place, and records whether any holds
    /// inf / NaN (one host sync for all of them). Call before clipping; at most once per step.
    /// </summary>
    public void Unscale(IEnumerable<Parameter> parameters)
    {
        if (foundInf is not null) throw new InvalidOperationException("Unscale() has already been called since the last Update().");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var nonFinite = new List<Tensor>();
        double inverse = 1.0 / scale;
        foreach (var p in parameters)
        {
            if (p.grad is not { } g) continue;
            g.mul_(inverse);
            nonFinite.Add(g.isfinite().all().logical_not());
        }
        foundInf = nonFinite.Count > 0 && stack(nonFinite).any().item<bool>();
    }

    /// <summary>
    /// <c>optimizer.step()</c> unless the gradients hold inf / NaN (then the step is skipped and the weights stay as
    /// they are). Unscales first with the optimizer's parameters if <see cref="Unscale"/> was not called. Returns
    /// whether the optimizer stepped.
    /// </summary>
    public bool Step(torch.optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (foundInf is null) Unscale(optimizer.parameters());
        if (foundInf == true) return false;
        optimizer.step();
        return true;
    }

    /// <summary>Ends the step: backs off after inf / NaN gradients, grows after <see cref="GrowthInterval"/> clean steps.</summary>
    public void Update()
    {
        if (foundInf is null) throw new InvalidOperationException("Update() needs an Unscale() or Step() in this step first.");
        if (foundInf == true)
        {
            scale *= BackoffFactor;
            growthTracker = 0;
        }
        else if (++growthTracker == GrowthInterval)
        {
            scale *= GrowthFactor;
            growthTracker = 0;
        }
        foundInf = null;
    }

    /// <summary>torch's <c>GradScaler.state_dict()</c>: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker.</summary>
    public GradScalerState StateDict() => new(scale, GrowthFactor, BackoffFactor, GrowthInterval, growthTracker);

    /// <summary>Restores the scale and the count of clean steps (the factors are the constructor's).</summary>
    public void LoadStateDict(GradScalerState state)
    {
        if (!(state.Scale > 0) || double.IsInfinity(state.Scale)) throw new ArgumentOutOfRangeException(nameof(state), state.Scale, "scale must be a positive finite number");
        if (state.GrowthTracker < 0) throw new ArgumentOutOfRangeException(nameof(state), state.GrowthTracker, "_growth_tracker must be non-negative");
        scale = state.Scale;
        growthTracker = state.GrowthTracker;
        foundInf = null;
    }
}

/// <summary>What <see cref="GradScaler.StateDict"/> returns, with torch's key names in JSON.</summary>
public sealed record GradScalerState(double Scale, double GrowthFactor, double BackoffFactor, int GrowthInterval, int GrowthTracker);
