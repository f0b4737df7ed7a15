using System.Text.RegularExpressions;
using FineTuning.Models;
using FineTuning.Models.Bert;
using static TorchSharp.torch;

namespace FineTuning.Peft;

/// <summary>
/// PEFT's <c>LoraModel</c> (the tuner, <c>peft_model.base_model</c>): holds the transformer model as <c>model</c>,
/// puts a <see cref="LoraLinear"/> in place of every targeted Linear, wraps the modules to save, and freezes the
/// rest. Its state-dict keys are <c>model.</c> + the transformer's, with PEFT's layer names inside.
/// </summary>
public sealed class LoraModel : nn.Module
{
    /// <summary>PEFT's <c>TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING</c>, for the model types this library has.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> DefaultTargetModules { get; } =
        new Dictionary<string, IReadOnlyList<string>> { ["bert"] = ["query", "value"] };

    // The field name is PEFT's attribute name (keys base_model.model.*).
    private nn.Module? model;

    /// <summary>Adapts <paramref name="model"/> in place as <paramref name="config"/> says.</summary>
    /// <param name="model">The transformer model; modified in place (PEFT's get_peft_model does the same).</param>
    /// <param name="config">A validated config whose target modules are already resolved
    /// (<see cref="ResolveConfig"/>).</param>
    internal LoraModel(nn.Module model, LoraConfig config) : base(nameof(LoraModel))
    {
        this.model = model;
        Config = config;
        TargetedModuleNames = InjectAdapters(model, config);
        MarkOnlyAdaptersAsTrainable(model, config);
        ModulesToSaveNames = WrapModulesToSave(model, config);
        RegisterComponents();
    }

    /// <summary>The config the adapters were built from (target modules resolved).</summary>
    public LoraConfig Config { get; }

    /// <summary>The transformer model inside (PEFT's <c>model</c>), with the adapters in it.</summary>
    /// <exception cref="InvalidOperationException">The model was handed back by an unload.</exception>
    public nn.Module Model => model ?? throw new InvalidOperationException(
        "this PEFT model was unloaded (MergeAndUnload / Unload): use the model those returned.");

    /// <summary>PEFT's <c>targeted_module_names</c>: every module turned into a <see cref="LoraLinear"/>.</summary>
    public IReadOnlyList<string> TargetedModuleNames { get; }

    /// <summary>The modules wrapped in a <see cref="ModulesToSaveWrapper"/>.</summary>
    public IReadOnlyList<string> ModulesToSaveNames { get; }

    // ---- building ----------------------------------------------------------------------------------------------

    /// <summary>
    /// PEFT's <c>_prepare_adapter_config</c> and <c>_maybe_include_all_linear_layers</c>: the model type's default
    /// target modules when none are given (BERT: query, value), and "all-linear" expanded to the full names of every
    /// Linear except the classification head.
    /// </summary>
    internal static LoraConfig ResolveConfig(nn.Module model, LoraConfig config)
    {
        if (config.TargetModules is null && config.TargetModulesRegex is null)
        {
            var modelType = model is BertPreTrainedModel bert ? bert.Config.ModelType : null;
            if (modelType is null || !DefaultTargetModules.TryGetValue(modelType, out var defaults))
                throw new ArgumentException($"Please specify `target_modules` in `peft_config`: there is no default for {model.GetType().Name}.", nameof(config));
            return config with { TargetModules = defaults };
        }
        if (config.TargetModules is [LoraConfig.AllLinear])
        {
            var head = config.TaskType == TaskType.SEQ_CLS ? new HashSet<string> { "classifier", "score" } : [];
            var names = ModuleSurgery.NamedModulesPreOrder(model)
                .Where(m => m.Module is Linear && !head.Contains(m.Name))
                .Select(m => m.Name).ToList();
            return config with { TargetModules = names };
        }
        return config;
    }

    /// <summary>PEFT's <c>check_target_module_exists</c>: whether the module named <paramref name="key"/> gets an
    /// adapter (exclusions and modules to save never do).</summary>
    public static bool IsTarget(LoraConfig config, string key)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(key);
        if (config.ExcludeModules is { } exclude && exclude.Any(e => key == e || key.EndsWith("." + e, StringComparison.Ordinal)))
            return false;
        if (config.ModulesToSave is { } save && save.Any(m => Regex.IsMatch(key, $"(^|.*\\.){Regex.Escape(m)}($|\\..*)", RegexOptions.CultureInvariant)))
            return false;
        if (config.TargetModulesRegex is { } pattern)
            return Regex.IsMatch(key, $"^(?:{pattern})$", RegexOptions.CultureInvariant);
        var targets = config.TargetModules ?? [];
        return targets.Contains(key) || targets.Any(t => key.EndsWith("." + t, StringComparison.Ordinal));
    }

    static List<string> InjectAdapters(nn.Module model, LoraConfig config)
    {
        // PEFT walks the names of the unmodified model, in PyTorch's order, and replaces as it goes.
        var keys = ModuleSurgery.NamedModulesPreOrder(model).Select(m => m.Name).ToList();
        var targeted = new List<string>();
        foreach (var key in keys)
        {
            if (!IsTarget(config, key)) continue;
            var target = ModuleSurgery.GetSubmodule(model, key);
            if (target is LoraLinear or ModulesToSaveWrapper)
                throw new InvalidOperationException($"'{key}' already holds an adapter: the model is already a PEFT model.");
            if (target is not Linear linear)
                throw new ArgumentException($"Target module {key} ({target.GetType().Name}) is not supported. Currently, only the following "
                    + "modules are supported: `FineTuning.Models.Linear` (torch.nn.Linear).", nameof(config));
            var lora = new LoraLinear(linear, config.R, config.LoraAlpha, config.LoraDropout, config.InitLoraWeights, config.UseRslora);
            ModuleSurgery.SetSubmodule(model, key, lora);
            targeted.Add(key);
        }
        if (targeted.Count == 0)
        {
            var asked = config.TargetModulesRegex ?? "{" + string.Join(", ", (config.TargetModules ?? []).Select(t => $"'{t}'")) + "}";
            throw new ArgumentException($"Target modules {asked} not found in the base model. Please check the target modules and try again.", nameof(config));
        }
        return targeted;
    }

    /// <summary>PEFT's <c>_mark_only_adapters_as_trainable</c>, then the bias setting; inference mode freezes all.</summary>
    static void MarkOnlyAdaptersAsTrainable(nn.Module model, LoraConfig config)
    {
        foreach (var (name, p) in model.named_parameters())
            p.requires_grad = !config.InferenceMode && name.Contains("lora_", StringComparison.Ordinal);
        if (config.InferenceMode) return;
        if (config.Bias == "all")
        {
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("bias", StringComparison.Ordinal)) p.requires_grad = true;
        }
        else if (config.Bias == "lora_only")
        {
            foreach (var layer in model.modules().OfType<LoraLinear>())
                if (layer.BaseLayer.Bias is { } bias) bias.requires_grad = true;
        }
    }

    /// <summary>PEFT's <c>_set_trainable</c>: wraps each module named in modules_to_save (exact name or "."-suffix).</summary>
    static List<string> WrapModulesToSave(nn.Module model, LoraConfig config)
    {
        var wrapped = new List<string>();
        if (config.ModulesToSave is not { Count: > 0 } names) return wrapped;
        var found = new HashSet<string>();
        foreach (var (key, module) in ModuleSurgery.NamedModulesPreOrder(model).ToList())
        {
            var match = names.FirstOrDefault(n => key == n || key.EndsWith("." + n, StringComparison.Ordinal));
            if (match is null || wrapped.Any(w => key.StartsWith(w + ".", StringComparison.Ordinal))) continue;
            if (module is not nn.Module<Tensor, Tensor> single)
                throw new ArgumentException($"modules_to_save: '{key}' ({module.GetType().Name}) cannot be wrapped; only Linear modules are supported.", nameof(config));
            var wrapper = new ModulesToSaveWrapper(single);
            wrapper.SetTrainable(!config.InferenceMode);
            ModuleSurgery.SetSubmodule(model, key, wrapper);
            wrapped.Add(key);
            found.Add(match);
        }
        // PEFT adds "classifier" and "score" for SEQ_CLS whichever the model has; a name the user gave must exist.
        var optional = config.TaskType == TaskType.SEQ_CLS ? new HashSet<string> { "classifier", "score" } : [];
        var missing = names.Where(n => !found.Contains(n) && !optional.Contains(n)).Distinct().ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"modules_to_save: no module named {string.Join(", ", missing.Select(m => $"'{m}'"))} in {model.GetType().Name}.", nameof(config));
        return wrapped;
    }

    // ---- merging and unloading ---------------------------------------------------------------------------------

    /// <summary>PEFT's <c>merge_adapter()</c>: folds every adapter into its base weight (the model keeps its LoRA
    /// layers, which then compute the base layer alone).</summary>
    public void MergeAdapter()
    {
        foreach (var layer in Model.modules().OfType<LoraLinear>()) layer.Merge();
    }

    /// <summary>PEFT's <c>unmerge_adapter()</c>: takes the merged updates back out of the base weights.</summary>
    public void UnmergeAdapter()
    {
        foreach (var layer in Model.modules().OfType<LoraLinear>()) layer.Unmerge();
    }

    /// <summary>PEFT's <c>enable_adapter_layers</c> / <c>disable_adapter_layers</c>.</summary>
    public void SetAdaptersEnabled(bool enabled)
    {
        foreach (var module in Model.modules())
        {
            if (module is LoraLinear lora) lora.DisableAdapters = !enabled;
            else if (module is ModulesToSaveWrapper wrapper) wrapper.DisableAdapters = !enabled;
        }
    }

    /// <summary>
    /// PEFT's <c>_unload_and_optionally_merge</c>: every <see cref="LoraLinear"/> goes back to its base Linear
    /// (with the update merged in when <paramref name="merge"/>), every <see cref="ModulesToSaveWrapper"/> becomes its
    /// trained copy. Returns the transformer model, now without any PEFT module.
    /// </summary>
    internal nn.Module UnloadAndOptionallyMerge(bool merge)
    {
        var model = Model;
        foreach (var (key, module) in ModuleSurgery.NamedModulesPreOrder(model).ToList())
        {
            switch (module)
            {
                case LoraLinear lora:
                    if (merge) lora.Merge();
                    ModuleSurgery.SetSubmodule(model, key, lora.BaseLayer);
                    break;
                case ModulesToSaveWrapper wrapper:
                    ModuleSurgery.SetSubmodule(model, key, wrapper.ModuleToSave);
                    break;
            }
        }
        // Hand the model over: disposing the PEFT wrapper must not dispose the model it returned.
        register_module("model", null!);
        this.model = null;
        return model;
    }
}
