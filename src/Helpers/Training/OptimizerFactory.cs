using TorchSharp;
using TorchSharp.Modules;

namespace FineTuning.Training;

/// <summary>
/// HF's <c>Trainer.create_optimizer</c> recipe: torch's AdamW (fused or not, as <see cref="TrainingArguments.Optim"/>
/// says) with two parameter groups, weight
/// decay <see cref="TrainingArguments.WeightDecay"/> for every trainable weight, none for biases and LayerNorm
/// weights.
/// </summary>
public static class OptimizerFactory
{
    /// <summary>
    /// HF's <c>get_parameter_names(model, forbidden_layer_types)</c>: the names of all parameters (trainable or not)
    /// that do not belong to a module of one of <paramref name="forbiddenLayerTypes"/>, children first, then the
    /// module's own parameters.
    /// </summary>
    public static IReadOnlyList<string> GetParameterNames(torch.nn.Module model, params Type[] forbiddenLayerTypes)
    {
        ArgumentNullException.ThrowIfNull(model);
        var result = new List<string>();
        foreach (var (name, child) in model.named_children())
        {
            if (forbiddenLayerTypes.Any(t => t.IsInstanceOfType(child))) continue;
            result.AddRange(GetParameterNames(child, forbiddenLayerTypes).Select(n => $"{name}.{n}"));
        }
        result.AddRange(model.named_parameters(recurse: false).Select(p => p.name));
        return result;
    }

    /// <summary>
    /// The trainable parameters (requires_grad) split as HF splits them, each list in <c>named_parameters</c> order:
    /// <c>Decay</c> = not inside a LayerNorm and no "bias" in the name; <c>NoDecay</c> = the rest.
    /// </summary>
    public static (IReadOnlyList<string> Decay, IReadOnlyList<string> NoDecay) DecayParameterNames(torch.nn.Module model)
    {
        var (decay, noDecay) = Split(model);
        return (decay.Select(p => p.Name).ToList(), noDecay.Select(p => p.Name).ToList());
    }

    static (List<(string Name, Parameter Param)> Decay, List<(string Name, Parameter Param)> NoDecay) Split(torch.nn.Module model)
    {
        var decayNames = GetParameterNames(model, typeof(LayerNorm))
            .Where(n => !n.Contains("bias", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        var decay = new List<(string, Parameter)>();
        var noDecay = new List<(string, Parameter)>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            (decayNames.Contains(name) ? decay : noDecay).Add((name, p));
        }
        return (decay, noDecay);
    }

    /// <summary>
    /// The bytes AdamW keeps besides the weights: exp_avg and exp_avg_sq (and max_exp_avg_sq with amsgrad) for every
    /// parameter it updates, i.e. 2 × 4 bytes per trainable fp32 parameter. Frozen parameters are never given to the
    /// optimizer (<see cref="CreateOptimizer"/>), so this is what parameter-efficient fine-tuning (LoRA) shrinks.
    /// </summary>
    public static long StateSizeInBytes(AdamW optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        long bytes = 0;
        foreach (var state in optimizer.state_dict().State.Cast<AdamW.State>())
            foreach (var t in new[] { state.exp_avg, state.exp_avg_sq, state.max_exp_avg_sq })
                if (t is not null) bytes += t.numel() * t.element_size();
        return bytes;
    }

    /// <summary>
    /// torch's AdamW (<see cref="FusedAdamW"/> for "adamw_torch_fused", HF's default; TorchSharp's AdamW for
    /// "adamw_torch") over <paramref name="model"/>'s trainable parameters in two groups (decay, then no-decay, as HF
    /// orders them) with <see cref="TrainingArguments.LearningRate"/>, betas (<see cref="TrainingArguments.AdamBeta1"/>,
    /// <see cref="TrainingArguments.AdamBeta2"/>) and <see cref="TrainingArguments.AdamEpsilon"/>. A group with no
    /// parameters is left out.
    /// </summary>
    /// <exception cref="ArgumentException">The arguments are invalid (<see cref="TrainingArguments.Validate"/>), or
    /// the model has no trainable parameters.</exception>
    public static AdamW CreateOptimizer(torch.nn.Module model, TrainingArguments args)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(args);
        args.Validate();
        var (decay, noDecay) = Split(model);
        var groups = new List<AdamW.ParamGroup>();
        if (decay.Count > 0)
            groups.Add(new AdamW.ParamGroup(decay.Select(p => p.Param), args.LearningRate, args.AdamBeta1, args.AdamBeta2,
                args.AdamEpsilon, args.WeightDecay));
        if (noDecay.Count > 0)
            groups.Add(new AdamW.ParamGroup(noDecay.Select(p => p.Param), args.LearningRate, args.AdamBeta1, args.AdamBeta2,
                args.AdamEpsilon, 0.0));
        if (groups.Count == 0)
            throw new ArgumentException("the model has no trainable parameters (all have requires_grad = false)", nameof(model));
        return args.Optim == "adamw_torch_fused"
            ? new FusedAdamW(groups, args.LearningRate, args.AdamBeta1, args.AdamBeta2, args.AdamEpsilon, args.WeightDecay)
            : torch.optim.AdamW(groups, args.LearningRate, args.AdamBeta1, args.AdamBeta2, args.AdamEpsilon, args.WeightDecay);
    }
}
