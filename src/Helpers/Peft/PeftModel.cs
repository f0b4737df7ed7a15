using System.Globalization;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Peft;

/// <summary>
/// PEFT's <c>PeftModel</c>: a transformer model with LoRA adapters, made by <see cref="PeftMapping.GetPeftModel"/>
/// or loaded with <see cref="FromPretrained"/>. It trains with the same <see cref="Training.Trainer"/> (it is an
/// <see cref="ITrainableModel"/> that forwards to the model inside); <see cref="SavePretrained"/> writes only the
/// adapter, in PEFT's layout, so Python <c>peft</c> loads it and the reverse.
/// </summary>
/// <remarks>
/// <para>The module tree is PEFT's: <c>base_model</c> (a <see cref="LoraModel"/>) → <c>model</c> (the transformer),
/// so <c>state_dict()</c> keys read <c>base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.default.weight</c>
/// as in Python. One adapter, "default", is supported.</para>
/// <para>The adapter file (<c>adapter_model.safetensors</c>) holds PEFT's <c>get_peft_model_state_dict</c>: the LoRA
/// matrices without the adapter name (<c>…query.lora_A.weight</c>), the modules to save under their own name
/// (<c>base_model.model.classifier.weight</c>), and the trained biases when <see cref="LoraConfig.Bias"/> is not "none".</para>
/// </remarks>
public class PeftModel : nn.Module, ITrainableModel
{
    /// <summary>PEFT's <c>SAFETENSORS_WEIGHTS_NAME</c> for adapters.</summary>
    public const string AdapterWeightsName = "adapter_model.safetensors";

    /// <summary>The key prefix of the transformer's weights in a PEFT state dict.</summary>
    public const string Prefix = "base_model.model.";

    // The field name is PEFT's attribute name (keys base_model.*).
    private LoraModel base_model;

    /// <param name="model">The transformer model, adapted in place.</param>
    /// <param name="peftConfig">The LoRA settings; validated here.</param>
    public PeftModel(nn.Module model, LoraConfig peftConfig) : base(nameof(PeftModel))
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(peftConfig);
        peftConfig.Validate();
        if (model.modules().Any(m => m is LoraLinear or ModulesToSaveWrapper))
            throw new ArgumentException("the model already has PEFT adapters in it; get_peft_model takes a plain model.", nameof(model));
        var config = LoraModel.ResolveConfig(model, peftConfig);
        base_model = new LoraModel(model, config);
        RegisterComponents();
    }

    /// <summary>PEFT's <c>base_model</c>: the <see cref="LoraModel"/> tuner around the transformer.</summary>
    public LoraModel BaseModel => base_model;

    /// <summary>PEFT's <c>active_peft_config</c>: the config of the "default" adapter, target modules resolved.</summary>
    public LoraConfig PeftConfig => base_model.Config;

    /// <summary>PEFT's <c>active_adapter</c>.</summary>
    public string ActiveAdapter => LoraLinear.DefaultAdapter;

    /// <summary>PEFT's <c>get_base_model()</c>: the transformer model, adapters included.</summary>
    public nn.Module GetBaseModel() => base_model.Model;

    // ---- parameters ----------------------------------------------------------------------------------------------

    /// <summary>PEFT's <c>get_nb_trainable_parameters()</c>: (parameters with requires_grad, all parameters), frozen
    /// originals and modules-to-save copies included, as PEFT counts them.</summary>
    public (long Trainable, long All) GetNbTrainableParameters()
    {
        long trainable = 0, all = 0;
        foreach (var (_, p) in named_parameters())
        {
            var n = p.numel();
            all += n;
            if (p.requires_grad) trainable += n;
        }
        return (trainable, all);
    }

    /// <summary>
    /// PEFT's <c>print_trainable_parameters()</c>:
    /// <c>trainable params: 1,234 || all params: 5,678 || trainable%: 21.7330</c> (to stdout unless a writer is given).
    /// </summary>
    public void PrintTrainableParameters(TextWriter? writer = null)
    {
        var (trainable, all) = GetNbTrainableParameters();
        var percent = all == 0 ? 0.0 : 100.0 * trainable / all;
        (writer ?? Console.Out).WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trainable params: {trainable:N0} || all params: {all:N0} || trainable%: {percent:F4}"));
    }

    // ---- ITrainableModel -----------------------------------------------------------------------------------------

    ITrainableModel Inner => base_model.Model as ITrainableModel
        ?? throw new InvalidOperationException($"{base_model.Model.GetType().Name} has no batch forward (ITrainableModel), so the PEFT model cannot run it by name.");

    /// <inheritdoc/>
    public IReadOnlyList<string> ForwardArgumentNames => Inner.ForwardArgumentNames;

    /// <summary>PEFT's <c>forward</c>: the transformer's forward, with the adapters in its layers.</summary>
    public SequenceClassifierOutput Forward(IReadOnlyDictionary<string, Tensor> inputs) => Inner.Forward(inputs);

    // ---- saving and loading --------------------------------------------------------------------------------------

    /// <summary>
    /// PEFT's <c>save_pretrained(folder)</c>: <c>adapter_model.safetensors</c> (<see cref="GetPeftModelStateDict"/>,
    /// metadata <c>{"format": "pt"}</c>) and <c>adapter_config.json</c> (inference_mode true, base model name filled
    /// in), each written to a temporary file and renamed. The base model's own weights are not saved.
    /// </summary>
    public void SavePretrained(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        var state = GetPeftModelStateDict();
        SafeTensorsWriter.Save(Path.Combine(folder, AdapterWeightsName), state.Select(kv => (kv.Key, kv.Value)),
                               new Dictionary<string, string> { ["format"] = "pt" });
        var nameOrPath = (base_model.Model as BertPreTrainedModel)?.Config.NameOrPath;
        var config = PeftConfig with { BaseModelNameOrPath = PeftConfig.BaseModelNameOrPath ?? nameOrPath, InferenceMode = true };
        config.SavePretrained(folder);
    }

    /// <summary>
    /// PEFT's <c>get_peft_model_state_dict(model)</c>: what an adapter file holds, by PEFT's saved key names — every
    /// LoRA matrix (adapter name removed), each module to save under its own name, and the biases that
    /// <see cref="LoraConfig.Bias"/> trains. The tensors are the live ones (not copies).
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> GetPeftModelStateDict()
    {
        var state = state_dict();
        var selected = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in state)
        {
            var take = PeftConfig.Bias switch
            {
                "all" => key.Contains("lora_", StringComparison.Ordinal) || key.Contains("bias", StringComparison.Ordinal),
                _ => key.Contains("lora_", StringComparison.Ordinal),
            };
            if (take) selected[key] = tensor;
        }
        if (PeftConfig.Bias == "lora_only")
        {
            // PEFT means the adapted layers' biases here (its lookup predates base_layer and finds none); we save them
            // under their live names, which PEFT's loader puts back in place.
            foreach (var (name, module) in ModuleSurgery.NamedModulesPreOrder(base_model.Model))
                if (module is LoraLinear && state.TryGetValue($"{Prefix}{name}.base_layer.bias", out var bias))
                    selected[$"{Prefix}{name}.base_layer.bias"] = bias;
        }
        foreach (var (name, wrapper) in Wrappers())
        {
            var at = $"{Prefix}{name}.";
            foreach (var stale in selected.Keys.Where(k => k.StartsWith(at, StringComparison.Ordinal)).ToList()) selected.Remove(stale);
            foreach (var (k, t) in wrapper.ModuleToSave.state_dict()) selected[at + k] = t;
        }
        return selected.ToDictionary(kv => RemoveAdapterName(kv.Key), kv => kv.Value, StringComparer.Ordinal);
    }

    // "x.lora_A.default.weight" → "x.lora_A.weight" (PEFT removes ".default" just before the last part).
    static string RemoveAdapterName(string key)
    {
        var cut = key.LastIndexOf('.');
        if (cut < 0) return key;
        var head = key[..cut];
        const string adapter = "." + LoraLinear.DefaultAdapter;
        return head.EndsWith(adapter, StringComparison.Ordinal) ? head[..^adapter.Length] + key[cut..] : key;
    }

    IEnumerable<(string Name, ModulesToSaveWrapper Wrapper)> Wrappers() =>
        ModuleSurgery.NamedModulesPreOrder(base_model.Model)
            .Where(m => m.Module is ModulesToSaveWrapper)
            .Select(m => (m.Name, (ModulesToSaveWrapper)m.Module));

    /// <summary>
    /// PEFT's <c>load_adapter(folder)</c> / <c>set_peft_model_state_dict</c>: copies the weights of
    /// <c>adapter_model.safetensors</c> in <paramref name="folder"/> into this model's adapters (the adapter name put
    /// back into each key, modules to save into their trained copies). Every LoRA matrix and module-to-save weight of
    /// the model must be in the file with its shape, and the file may hold nothing the model lacks.
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing (or only a pickled adapter_model.bin is there), a
    /// weight is missing, unexpected or of another shape; the message names the file and the key.</exception>
    public void LoadAdapter(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder, AdapterWeightsName);
        if (!File.Exists(path))
        {
            var bin = Path.Combine(folder, "adapter_model.bin");
            throw File.Exists(bin)
                ? new CheckpointException(bin, "this adapter is a pickle (adapter_model.bin), which this library never loads: re-save it in Python "
                    + "with model.save_pretrained(folder, safe_serialization=True) to get adapter_model.safetensors")
                : new CheckpointException(path, $"{AdapterWeightsName} not found in the adapter folder");
        }
        var live = state_dict();
        var wrappers = Wrappers().Select(w => $"{Prefix}{w.Name}.").ToList();
        // Saved key → live key (PEFT's adapter_state_dict_load_map and _insert_adapter_name_into_state_dict).
        string ToLive(string saved)
        {
            foreach (var at in wrappers)
                if (saved.StartsWith(at, StringComparison.Ordinal))
                    return $"{at}modules_to_save.{LoraLinear.DefaultAdapter}.{saved[at.Length..]}";
            var marker = saved.LastIndexOf("lora_", StringComparison.Ordinal);
            if (marker < 0) return saved;
            var cut = saved.LastIndexOf('.');
            return cut > marker ? $"{saved[..cut]}.{LoraLinear.DefaultAdapter}{saved[cut..]}" : $"{saved}.{LoraLinear.DefaultAdapter}";
        }

        using var file = SafeTensorsFile.Open(path);
        var mapped = file.Names.ToDictionary(n => n, ToLive, StringComparer.Ordinal);
        var unexpected = mapped.Where(kv => !live.ContainsKey(kv.Value)).Select(kv => kv.Key).ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException(path, $"the adapter has weights this model does not: {string.Join(", ", unexpected.Take(5))}"
                + (unexpected.Count > 5 ? ", ..." : "") + " (a different base model, or other target modules?)", unexpected[0]);
        var required = GetPeftModelStateDict().Keys
            .Where(k => k.Contains("lora_", StringComparison.Ordinal) || wrappers.Any(w => k.StartsWith(w, StringComparison.Ordinal)));
        var missing = required.Where(k => !mapped.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(path, $"the adapter lacks weights this model has: {string.Join(", ", missing.Take(5))}"
                + (missing.Count > 5 ? ", ..." : "") + " (check r, target_modules and modules_to_save in adapter_config.json)", missing[0]);

        using var noGrad = no_grad();
        foreach (var (saved, liveKey) in mapped)
        {
            var target = live[liveKey];
            var info = file.Info(saved);
            if (!info.Shape.SequenceEqual(target.shape))
                throw new CheckpointException(path, $"'{saved}' has shape [{string.Join(", ", info.Shape)}] in the adapter, "
                    + $"[{string.Join(", ", target.shape)}] in the model", saved);
            using var source = file.LoadAs(saved, target.dtype);
            target.copy_(source);
        }
    }

    /// <summary>
    /// PEFT's <c>PeftModel.from_pretrained(model, folder)</c>: reads <c>adapter_config.json</c>, adapts
    /// <paramref name="model"/> in place as it says and loads <c>adapter_model.safetensors</c> into it. The result is
    /// in eval mode and frozen unless <paramref name="isTrainable"/>, as in PEFT.
    /// </summary>
    /// <param name="model">The base model the adapter was trained on (e.g. the same pretrained checkpoint with the
    /// same head shape).</param>
    /// <param name="folder">A folder written by <see cref="SavePretrained"/> or by Python's <c>save_pretrained</c>.</param>
    /// <param name="isTrainable">True to continue training the adapter.</param>
    /// <exception cref="CheckpointException">The config or weights are missing or invalid.</exception>
    public static PeftModel FromPretrained(nn.Module model, string folder, bool isTrainable = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = LoraConfig.FromPretrained(folder) with { InferenceMode = !isTrainable };
        var peft = PeftMapping.GetPeftModel(model, config);
        peft.LoadAdapter(folder);
        if (!isTrainable) peft.eval();
        return peft;
    }

    // ---- merging -------------------------------------------------------------------------------------------------

    /// <summary>
    /// PEFT's <c>merge_and_unload()</c>: folds scaling·B·A into every adapted weight and returns the transformer
    /// model without any PEFT module — a plain model (e.g. a <see cref="BertForSequenceClassification"/>, with the
    /// trained classifier) that computes what this PEFT model computed, at the base model's speed, and saves as a
    /// full checkpoint. The PEFT model lets go of it: disposing the PEFT model afterwards leaves the returned model
    /// alone, and any other use of the PEFT model fails.
    /// </summary>
    public nn.Module MergeAndUnload() => base_model.UnloadAndOptionallyMerge(merge: true);

    /// <summary>PEFT's <c>unload()</c>: the transformer model back without the adapters (nothing merged).</summary>
    public nn.Module Unload() => base_model.UnloadAndOptionallyMerge(merge: false);

    /// <summary>PEFT's <c>merge_adapter()</c>: merges in place, keeping the LoRA layers (undo with <see cref="UnmergeAdapter"/>).</summary>
    public void MergeAdapter() => base_model.MergeAdapter();

    /// <summary>PEFT's <c>unmerge_adapter()</c>.</summary>
    public void UnmergeAdapter() => base_model.UnmergeAdapter();

    /// <summary>PEFT's <c>with model.disable_adapter():</c> — inside the using block the model is the base model
    /// (original modules-to-save included).</summary>
    public IDisposable DisableAdapter()
    {
        base_model.SetAdaptersEnabled(false);
        return new EnableOnDispose(base_model);
    }

    sealed class EnableOnDispose(LoraModel model) : IDisposable
    {
        bool disposed;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            model.SetAdaptersEnabled(true);
        }
    }
}
