using FineTuning.SafeTensors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>
/// HF <c>BertPreTrainedModel</c> (with the parts of <c>PreTrainedModel</c> BERT needs): the config, weight
/// initialisation, <c>FromPretrained</c> and <c>SavePretrained</c>.
/// </summary>
public abstract class BertPreTrainedModel : nn.Module
{
    /// <summary>The attribute that holds the <see cref="BertModel"/> in head models, and the key prefix of its weights.</summary>
    public const string BaseModelPrefix = "bert";

    protected BertPreTrainedModel(string name, BertConfig config) : base(name) => Config = config;

    /// <summary>The configuration the model was built from (saved as config.json).</summary>
    public BertConfig Config { get; }

    /// <summary>What <c>FromPretrained</c> loaded, dropped and initialised; null for a model built from a config.</summary>
    public LoadingReport? LoadingInfo { get; private set; }

    /// <summary>The BertModel inside (this, for BertModel itself).</summary>
    public abstract BertModel BaseModel { get; }

    // HF's no_init_weights(): FromPretrained skips the full re-initialisation, as HF's _fast_init does.
    [ThreadStatic] static bool skipInitWeights;

    /// <summary>HF <c>post_init</c>: <see cref="InitWeights"/> on every module, unless loading pretrained weights.</summary>
    protected void PostInit()
    {
        if (skipInitWeights) return;
        foreach (var (_, module) in named_modules()) InitWeights(module);
    }

    /// <summary>
    /// HF <c>BertPreTrainedModel._init_weights</c>: Linear and Embedding weights ~ N(0, initializer_range), biases 0,
    /// the padding row of the word embeddings 0, LayerNorm weight 1 and bias 0.
    /// </summary>
    public void InitWeights(nn.Module module)
    {
        using var _ = no_grad();
        double std = Config.InitializerRange;
        switch (module)
        {
            case Linear linear:
                linear.Weight.normal_(0.0, std);
                linear.Bias?.zero_();
                break;
            case Embedding embedding:
                embedding.weight!.normal_(0.0, std);
                if (ReferenceEquals(embedding, BaseModel.Embeddings.WordEmbeddings) && Config.PadTokenId is int pad)
                    embedding.weight[pad].zero_();
                break;
            case LayerNorm norm:
                norm.bias!.zero_();
                norm.weight!.fill_(1.0);
                break;
        }
    }

    /// <summary>Attention implementation of every layer: "sdpa" (default) or "eager".</summary>
    public string AttnImplementation
    {
        get => BaseModel.Encoder.Layers.Count > 0 ? BaseModel.Encoder.Layers[0].Attention.Self.AttnImplementation : "sdpa";
        set
        {
            if (value is not ("sdpa" or "eager"))
                throw new ArgumentException($"attn implementation '{value}' is not supported (use \"sdpa\" or \"eager\").", nameof(value));
            foreach (var layer in BaseModel.Encoder.Layers) layer.Attention.Self.AttnImplementation = value;
        }
    }

    /// <summary>
    /// Builds the model with <paramref name="create"/> and fills it from the safetensors weights in
    /// <paramref name="folder"/>, HF's way: legacy names mapped, base-model prefix added or removed as needed,
    /// unused weights dropped, missing ones initialised with <see cref="InitWeights"/>, the report logged as HF's
    /// warnings and kept in <see cref="LoadingInfo"/>. The model is returned in eval mode, as HF returns it.
    /// </summary>
    protected static T FromPretrained<T>(string folder, BertConfig config, Func<BertConfig, T> create, bool ignoreMismatchedSizes)
        where T : BertPreTrainedModel
    {
        using var checkpoint = SafeTensorsCheckpoint.OpenFolder(folder);
        // Before anything is allocated: config.json must describe the checkpoint's weights (HF finds a mismatch only
        // after building the model, so a config claiming vocab_size 10^9 allocated it first), and the model must fit
        // in memory. With ignoreMismatchedSizes, differing weights are re-initialised as HF does; the size check stays.
        var configPath = Path.Combine(folder, "config.json");
        if (!ignoreMismatchedSizes) BertWeightShapes.CheckAgainstCheckpoint(config, checkpoint, configPath);
        BertWeightShapes.EnsureFitsInMemory(config, addPoolingLayer: true, configPath);
        T model;
        skipInitWeights = true;
        try { model = create(config); }
        finally { skipInitWeights = false; }
        try
        {
            var report = PretrainedWeights.Load(model, typeof(T).Name, BaseModelPrefix, checkpoint, folder, ignoreMismatchedSizes, model.InitWeights);
            foreach (var warning in report.Warnings) Logging.Warning(warning);
            foreach (var info in report.Infos) Logging.Info(info);
            model.LoadingInfo = report;
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <summary>
    /// HF <c>save_pretrained</c>: <c>config.json</c> (architectures set to this class) and <c>model.safetensors</c>
    /// with HF's key names, each written to a temp file and renamed, so Python <c>transformers</c> loads the folder.
    /// </summary>
    public void SavePretrained(string folder)
    {
        Directory.CreateDirectory(folder);
        var state = state_dict();
        var dtype = state.Values.FirstOrDefault()?.dtype ?? ScalarType.Float32;
        var config = Config with { Architectures = [GetType().Name], TorchDtype = DTypeName(dtype) };
        SafeTensorsWriter.Save(Path.Combine(folder, "model.safetensors"), state.Select(kv => (kv.Key, kv.Value)),
                               new Dictionary<string, string> { ["format"] = "pt" });
        config.Save(folder);
    }

    static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float64 => "float64",
        _ => t.ToString().ToLowerInvariant(),
    };
}
