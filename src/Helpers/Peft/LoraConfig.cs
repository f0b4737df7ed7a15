using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FineTuning.Peft;

/// <summary>
/// PEFT's <c>LoraConfig</c>: which layers get a low-rank adapter and how, saved as <c>adapter_config.json</c> with
/// PEFT's field names. Defaults are PEFT's: <c>r</c> 8, <c>lora_alpha</c> 8, <c>lora_dropout</c> 0, <c>bias</c>
/// "none", no modules to save.
/// </summary>
/// <remarks>
/// <para>Each targeted Linear W (out × in) becomes W·x + (alpha / r)·B·A·dropout(x) with A (r × in) and B (out × r);
/// W is frozen, A starts Kaiming-uniform and B at zero, so the adapted model starts out equal to the base model.
/// Only A and B (and the <see cref="ModulesToSave"/> copies, and biases per <see cref="Bias"/>) are trained.</para>
/// <para>The record is immutable (derive variants with <c>with { ... }</c>) and compares by value, lists included;
/// <see cref="Validate"/> checks values
/// and names the PEFT field at fault. Reading (<see cref="FromPretrained"/>, <see cref="FromJson"/>) accepts every
/// field PEFT 0.19 writes: fields of features this library does not implement (DoRA, rsLoRA patterns, LoftQ, …)
/// must hold their defaults, or reading fails naming the field; fields from newer PEFT versions are ignored with a
/// warning, as PEFT does.</para>
/// </remarks>
public sealed record LoraConfig
{
    /// <summary>The file name PEFT uses (<c>CONFIG_NAME</c>).</summary>
    public const string ConfigName = "adapter_config.json";

    /// <summary>The PEFT release whose <c>adapter_config.json</c> layout <see cref="ToJson"/> writes (its
    /// <c>peft_version</c> field).</summary>
    public const string PeftFormatVersion = "0.19.1";

    /// <summary>The <c>target_modules</c> shorthand for every Linear except the classifier head.</summary>
    public const string AllLinear = "all-linear";

    /// <summary>The <see cref="Bias"/> values PEFT accepts.</summary>
    public static IReadOnlyList<string> BiasValues { get; } = ["none", "all", "lora_only"];

    IReadOnlyList<string>? targetModules;
    IReadOnlyList<string>? excludeModules;
    IReadOnlyList<string>? modulesToSave;

    // ---- PeftConfig ----------------------------------------------------------------------------------------------

    /// <summary><c>peft_type</c>: always "LORA".</summary>
    public string PeftType => "LORA";

    /// <summary><c>task_type</c>, default null: one of <see cref="Peft.TaskType"/>. <see cref="TaskType.SEQ_CLS"/>
    /// adds <c>classifier</c> and <c>score</c> to <see cref="ModulesToSave"/>, as PEFT does.</summary>
    public string? TaskType { get; init; }

    /// <summary><c>base_model_name_or_path</c>, default null: the model the adapter was trained on; set from the
    /// base model's <c>_name_or_path</c> when saving, as PEFT does.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary><c>revision</c>, default null: the hub revision of the base model. Informational.</summary>
    public string? Revision { get; init; }

    /// <summary><c>inference_mode</c>, default false: true freezes the adapter (no trainable parameters). Saved
    /// adapters say true; <see cref="PeftModel.FromPretrained"/> keeps it unless asked for a trainable model.</summary>
    public bool InferenceMode { get; init; }

    // ---- LoRA --------------------------------------------------------------------------------------------------

    /// <summary><c>r</c>, default 8: the rank of the update B·A. Trainable parameters per layer: r·(in + out).</summary>
    public int R { get; init; } = 8;

    /// <summary><c>lora_alpha</c>, default 8: the update is scaled by lora_alpha / r (or / √r with
    /// <see cref="UseRslora"/>). Common practice: alpha = r or 2r.</summary>
    public double LoraAlpha { get; init; } = 8;

    /// <summary><c>lora_dropout</c>, default 0: dropout on the adapter's input (not on the frozen path).</summary>
    public double LoraDropout { get; init; }

    /// <summary>
    /// <c>target_modules</c> given as names, default null: a module is adapted when its full name equals an entry
    /// or ends with "." + entry (["query", "value"] adapts every attention query and value projection). Null uses
    /// PEFT's default for the model type (BERT: query, value). ["all-linear"] (<see cref="AllLinear"/>) adapts every
    /// Linear except the classifier head. Only Linear layers can be adapted. Exclusive with
    /// <see cref="TargetModulesRegex"/>.
    /// </summary>
    public IReadOnlyList<string>? TargetModules
    {
        get => targetModules;
        init => targetModules = Freeze(value);
    }

    /// <summary><c>target_modules</c> given as one string, default null: a regular expression that must match a
    /// module's whole name (Python's <c>re.fullmatch</c>), e.g. <c>.*encoder.*(query|value)</c>.</summary>
    public string? TargetModulesRegex { get; init; }

    /// <summary><c>exclude_modules</c>, default null: names (exact, or as a "."-suffix) never adapted.</summary>
    public IReadOnlyList<string>? ExcludeModules
    {
        get => excludeModules;
        init => excludeModules = Freeze(value);
    }

    /// <summary><c>bias</c>, default "none": which biases train — "none"; "all" (every bias of the model);
    /// "lora_only" (the biases of the adapted layers). Trained biases are saved with the adapter, and the model
    /// without the adapter is then no longer the base model.</summary>
    public string Bias { get; init; } = "none";

    /// <summary><c>use_rslora</c>, default false: rank-stabilised LoRA, scaling lora_alpha / √r.</summary>
    public bool UseRslora { get; init; }

    /// <summary><c>modules_to_save</c>, default null: modules trained in full and saved with the adapter (a freshly
    /// initialised head, e.g. ["classifier"]). Each is wrapped in a <see cref="ModulesToSaveWrapper"/> that keeps
    /// the original frozen and trains a copy.</summary>
    public IReadOnlyList<string>? ModulesToSave
    {
        get => modulesToSave;
        init => modulesToSave = Freeze(value);
    }

    /// <summary><c>init_lora_weights</c>, default true: A Kaiming-uniform (as torch.nn.Linear) and B zero, so the
    /// adapter starts as a no-op. False leaves A and B random (for tests and debugging).</summary>
    public bool InitLoraWeights { get; init; } = true;

    /// <summary>lora_alpha / r, or lora_alpha / √r with <see cref="UseRslora"/>: the factor on B·A.</summary>
    public double Scaling => UseRslora ? LoraAlpha / Math.Sqrt(R) : LoraAlpha / R;

    /// <summary>Value equality over every field, list contents included (in order).</summary>
    public bool Equals(LoraConfig? other) =>
        other is not null && TaskType == other.TaskType && BaseModelNameOrPath == other.BaseModelNameOrPath
        && Revision == other.Revision && InferenceMode == other.InferenceMode && R == other.R
        && LoraAlpha.Equals(other.LoraAlpha) && LoraDropout.Equals(other.LoraDropout)
        && SameNames(TargetModules, other.TargetModules) && TargetModulesRegex == other.TargetModulesRegex
        && SameNames(ExcludeModules, other.ExcludeModules) && Bias == other.Bias && UseRslora == other.UseRslora
        && SameNames(ModulesToSave, other.ModulesToSave) && InitLoraWeights == other.InitLoraWeights;

    public override int GetHashCode() => HashCode.Combine(TaskType, R, LoraAlpha, LoraDropout, Bias,
        TargetModules is null ? 0 : string.Join("\0", TargetModules).GetHashCode(StringComparison.Ordinal), TargetModulesRegex);

    static bool SameNames(IReadOnlyList<string>? a, IReadOnlyList<string>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b, StringComparer.Ordinal);

    // ---- Validation ----------------------------------------------------------------------------------------------

    /// <summary>Checks every value. PEFT's field names appear in the messages.</summary>
    /// <exception cref="ArgumentException">A value is out of range; <see cref="ArgumentException.ParamName"/> is the
    /// PEFT field name.</exception>
    public void Validate()
    {
        static void Fail(string field, string message) => throw new ArgumentException($"LoraConfig.{field}: {message}", field);

        if (R <= 0) Fail("r", $"`r` should be a positive integer value but the value passed is {R}");
        if (!double.IsFinite(LoraAlpha)) Fail("lora_alpha", $"lora_alpha must be a finite number, got {LoraAlpha.ToString(CultureInfo.InvariantCulture)}");
        if (!(LoraDropout >= 0 && LoraDropout < 1))
            Fail("lora_dropout", $"lora_dropout must be a probability in [0, 1), got {LoraDropout.ToString(CultureInfo.InvariantCulture)}");
        if (!BiasValues.Contains(Bias)) Fail("bias", $"bias '{Bias}' is not one of {string.Join(", ", BiasValues.Select(b => $"'{b}'"))}");
        if (TaskType is not null && !Peft.TaskType.All.Contains(TaskType))
            Fail("task_type", $"Invalid task type: '{TaskType}'. Must be one of the following task types: {string.Join(", ", Peft.TaskType.All)}.");
        if (TargetModules is not null && TargetModulesRegex is not null)
            Fail("target_modules", "give target modules either as names (TargetModules) or as one regular expression (TargetModulesRegex), not both");
        CheckNames("target_modules", TargetModules);
        CheckNames("exclude_modules", ExcludeModules);
        CheckNames("modules_to_save", ModulesToSave);
        if (TargetModules is { Count: 0 }) Fail("target_modules", "the list is empty: no layer would be adapted");
        if (TargetModules is not null && TargetModules.Contains(AllLinear) && TargetModules.Count > 1)
            Fail("target_modules", $"'{AllLinear}' stands alone; it cannot be combined with other names");
        if (TargetModulesRegex is not null)
        {
            if (TargetModulesRegex.Length == 0) Fail("target_modules", "the regular expression is empty");
            try { _ = new Regex(TargetModulesRegex, RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { Fail("target_modules", $"'{TargetModulesRegex}' is not a valid regular expression: {e.Message}"); }
        }

        static void CheckNames(string field, IReadOnlyList<string>? names)
        {
            if (names is null) return;
            for (var i = 0; i < names.Count; i++)
                if (string.IsNullOrEmpty(names[i])) Fail(field, $"{field} should not contain an empty string (entry {i})");
        }
    }

    // ---- Writing -------------------------------------------------------------------------------------------------

    /// <summary>
    /// PEFT's <c>adapter_config.json</c> text: every field PEFT 0.19.1 writes, sorted, indented by 2
    /// (<c>json.dumps(config.to_dict(), indent=2, sort_keys=True)</c>); features this library lacks hold PEFT's defaults.
    /// </summary>
    public string ToJson()
    {
        static Action<PythonJson.Writer> Null() => w => w.String(null);
        static Action<PythonJson.Writer> Empty() => w => w.Object([]);
        static Action<PythonJson.Writer> Str(string? s) => w => w.String(s);
        static Action<PythonJson.Writer> Bool(bool b) => w => w.Bool(b);
        static Action<PythonJson.Writer> List(IReadOnlyList<string>? items) => w =>
        {
            if (items is null) w.String(null);
            else w.Array(items.Select(s => (Action<PythonJson.Writer>)(x => x.String(s))));
        };
        // Python writes an int alpha as 8 and a float one as 8.0; an integral alpha is written as PEFT's int default.
        Action<PythonJson.Writer> alpha = LoraAlpha == Math.Floor(LoraAlpha) && Math.Abs(LoraAlpha) < 1e15
            ? w => w.Long((long)LoraAlpha)
            : w => w.Double(LoraAlpha);

        var fields = new Dictionary<string, Action<PythonJson.Writer>>(StringComparer.Ordinal)
        {
            ["alora_invocation_tokens"] = Null(),
            ["alpha_pattern"] = Empty(),
            ["arrow_config"] = Null(),
            ["auto_mapping"] = Null(),
            ["base_model_name_or_path"] = Str(BaseModelNameOrPath),
            ["bias"] = Str(Bias),
            ["corda_config"] = Null(),
            ["ensure_weight_tying"] = Bool(false),
            ["eva_config"] = Null(),
            ["exclude_modules"] = List(ExcludeModules),
            ["fan_in_fan_out"] = Bool(false),
            ["inference_mode"] = Bool(InferenceMode),
            ["init_lora_weights"] = Bool(InitLoraWeights),
            ["layer_replication"] = Null(),
            ["layers_pattern"] = Null(),
            ["layers_to_transform"] = Null(),
            ["loftq_config"] = Empty(),
            ["lora_alpha"] = alpha,
            ["lora_bias"] = Bool(false),
            ["lora_dropout"] = w => w.Double(LoraDropout),
            ["lora_ga_config"] = Null(),
            ["megatron_config"] = Null(),
            ["megatron_core"] = Str("megatron.core"),
            ["modules_to_save"] = List(ModulesToSave),
            ["peft_type"] = Str(PeftType),
            ["peft_version"] = Str(PeftFormatVersion),
            ["qalora_group_size"] = w => w.Long(16),
            ["r"] = w => w.Long(R),
            ["rank_pattern"] = Empty(),
            ["revision"] = Str(Revision),
            ["target_modules"] = TargetModulesRegex is not null ? Str(TargetModulesRegex) : List(TargetModules),
            ["target_parameters"] = Null(),
            ["task_type"] = Str(TaskType),
            ["trainable_token_indices"] = Null(),
            ["use_bdlora"] = Null(),
            ["use_dora"] = Bool(false),
            ["use_qalora"] = Bool(false),
            ["use_rslora"] = Bool(UseRslora),
        };
        var writer = new PythonJson.Writer();
        writer.Object(fields.OrderBy(f => f.Key, PythonJson.CodePointOrder).Select(f => (f.Key, f.Value)));
        return writer.ToString();
    }

    /// <summary>PEFT's <c>config.save_pretrained(folder)</c>: writes <c>adapter_config.json</c> atomically.</summary>
    public void SavePretrained(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Validate();
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigName), ToJson());
    }

    // ---- Reading -------------------------------------------------------------------------------------------------

    // PEFT 0.19 fields that describe features this library does not implement, with the only value accepted.
    static readonly Dictionary<string, (string Default, string Feature)> UnsupportedFields = new(StringComparer.Ordinal)
    {
        ["alora_invocation_tokens"] = ("null", "aLoRA"),
        ["alpha_pattern"] = ("{}", "per-layer alphas (alpha_pattern)"),
        ["arrow_config"] = ("null", "Arrow routing"),
        ["corda_config"] = ("null", "CorDA initialisation"),
        ["ensure_weight_tying"] = ("false", "weight tying"),
        ["eva_config"] = ("null", "EVA initialisation"),
        ["fan_in_fan_out"] = ("false", "Conv1D layers (fan_in_fan_out)"),
        ["layer_replication"] = ("null", "layer replication"),
        ["layers_pattern"] = ("null", "layers_pattern"),
        ["layers_to_transform"] = ("null", "layers_to_transform"),
        ["loftq_config"] = ("{}", "LoftQ"),
        ["lora_bias"] = ("false", "a bias on lora_B (lora_bias)"),
        ["lora_ga_config"] = ("null", "LoRA-GA initialisation"),
        ["megatron_config"] = ("null", "Megatron layers"),
        ["rank_pattern"] = ("{}", "per-layer ranks (rank_pattern)"),
        ["target_parameters"] = ("null", "target_parameters"),
        ["trainable_token_indices"] = ("null", "trainable tokens"),
        ["use_bdlora"] = ("null", "BD-LoRA"),
        ["use_dora"] = ("false", "DoRA"),
        ["use_qalora"] = ("false", "QALoRA"),
    };

    // Fields read for information only, whatever their value.
    static readonly HashSet<string> IgnoredFields = new(StringComparer.Ordinal)
    {
        "auto_mapping", "megatron_core", "peft_version", "qalora_group_size", "runtime_config",
    };

    static readonly HashSet<string> ModelledFields = new(StringComparer.Ordinal)
    {
        "peft_type", "task_type", "base_model_name_or_path", "revision", "inference_mode", "r", "lora_alpha",
        "lora_dropout", "target_modules", "exclude_modules", "bias", "use_rslora", "modules_to_save", "init_lora_weights",
    };

    /// <summary>PEFT's <c>LoraConfig.from_pretrained(folder)</c>: reads the folder's <c>adapter_config.json</c>.</summary>
    /// <exception cref="CheckpointException">The folder or file is missing, or the file is not a valid LoRA config
    /// (the message names the file and the field).</exception>
    public static LoraConfig FromPretrained(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, "adapter folder not found");
        var path = Path.Combine(folder, ConfigName);
        if (!File.Exists(path)) throw new CheckpointException(path, $"{ConfigName} not found in the adapter folder");
        return FromJson(PythonJson.ReadText(path), path);
    }

    /// <summary>Parses <c>adapter_config.json</c> text, then <see cref="Validate"/>s it. Absent fields take PEFT's
    /// defaults.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="sourcePath">Named in every error message.</param>
    /// <exception cref="CheckpointException">Invalid JSON, a field of the wrong type, a feature this library does not
    /// implement, or a value <see cref="Validate"/> rejects.</exception>
    public static LoraConfig FromJson(string json, string sourcePath = ConfigName)
    {
        ArgumentNullException.ThrowIfNull(json);
        var fields = PythonJson.ReadObject(json, sourcePath);
        CheckpointException Error(string field, string message) => new(sourcePath, $"field '{field}': {message}", field);

        if (!fields.TryGetValue("peft_type", out var peftType))
            throw Error("peft_type", "missing; a PEFT adapter config names its method (expected \"LORA\")");
        if (peftType.ValueKind != JsonValueKind.String || peftType.GetString() != "LORA")
            throw Error("peft_type", $"only LoRA adapters are supported (peft_type \"LORA\"), got {PythonJson.Describe(peftType)}");

        foreach (var (name, value) in fields)
        {
            if (UnsupportedFields.TryGetValue(name, out var unsupported))
            {
                if (!IsDefault(value, unsupported.Default))
                    throw Error(name, $"{unsupported.Feature} is not supported by this library (expected {unsupported.Default}, got {value.GetRawText()})");
            }
            else if (!ModelledFields.Contains(name) && !IgnoredFields.Contains(name))
                Logging.Warning($"{sourcePath}: unexpected field '{name}' for LoraConfig is ignored. This probably means the file was "
                    + "saved by a newer version of PEFT.");
        }

        var reader = new Reader(fields, Error);
        var defaults = new LoraConfig();
        var (targetNames, targetRegex) = reader.NamesOrRegex("target_modules");
        var (excludeNames, excludeRegex) = reader.NamesOrRegex("exclude_modules");
        if (excludeRegex is not null) throw Error("exclude_modules", "a regular expression is not supported here; give a list of names");
        LoraConfig config;
        try
        {
            config = new LoraConfig
            {
                TaskType = reader.String("task_type", null),
                BaseModelNameOrPath = reader.String("base_model_name_or_path", null),
                Revision = reader.String("revision", null),
                InferenceMode = reader.Bool("inference_mode", defaults.InferenceMode),
                R = reader.Int("r", defaults.R),
                LoraAlpha = reader.Number("lora_alpha", defaults.LoraAlpha),
                LoraDropout = reader.Number("lora_dropout", defaults.LoraDropout),
                TargetModules = targetNames,
                TargetModulesRegex = targetRegex is not null && targetRegex.Equals(AllLinear, StringComparison.OrdinalIgnoreCase) ? null : targetRegex,
                ExcludeModules = excludeNames,
                Bias = reader.String("bias", defaults.Bias) ?? throw Error("bias", "expected a string, got null"),
                UseRslora = reader.Bool("use_rslora", defaults.UseRslora),
                ModulesToSave = reader.NamesOrRegex("modules_to_save") is var (mts, mtsRegex) && mtsRegex is null ? mts
                    : throw Error("modules_to_save", "expected a list of module names or null"),
                InitLoraWeights = reader.InitLoraWeights("init_lora_weights", defaults.InitLoraWeights),
            };
            // PEFT's "all-linear" string: kept as the names shorthand (PEFT expands it when the model is built).
            if (targetRegex is not null && targetRegex.Equals(AllLinear, StringComparison.OrdinalIgnoreCase))
                config = config with { TargetModules = [AllLinear] };
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(sourcePath, e.Message, e.ParamName, e);
        }
        return config;
    }

    static bool IsDefault(JsonElement value, string expected) => expected switch
    {
        "null" => value.ValueKind == JsonValueKind.Null,
        "false" => value.ValueKind is JsonValueKind.False or JsonValueKind.Null,
        "{}" => value.ValueKind == JsonValueKind.Null || (value.ValueKind == JsonValueKind.Object && !value.EnumerateObject().Any()),
        _ => false,
    };

    static IReadOnlyList<string>? Freeze(IReadOnlyList<string>? value) =>
        value is null ? null : new ReadOnlyCollection<string>(value.ToArray());

    /// <summary>Typed access to the fields; every mismatch names the field.</summary>
    sealed class Reader(Dictionary<string, JsonElement> fields, Func<string, string, CheckpointException> error)
    {
        CheckpointException TypeError(string field, string expected, JsonElement got) =>
            error(field, $"expected {expected}, got {PythonJson.Describe(got)}");

        public string? String(string field, string? fallback)
        {
            if (!fields.TryGetValue(field, out var e)) return fallback;
            return e.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => e.GetString(),
                _ => throw TypeError(field, "a string or null", e),
            };
        }

        public bool Bool(string field, bool fallback)
        {
            if (!fields.TryGetValue(field, out var e)) return fallback;
            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw TypeError(field, "true or false", e),
            };
        }

        public int Int(string field, int fallback)
        {
            if (!fields.TryGetValue(field, out var e)) return fallback;
            if (e.ValueKind != JsonValueKind.Number || !PythonJson.IsIntegerLiteral(e.GetRawText()) || !e.TryGetInt32(out var value))
                throw TypeError(field, "an integer", e);
            return value;
        }

        public double Number(string field, double fallback)
        {
            if (!fields.TryGetValue(field, out var e)) return fallback;
            if (e.ValueKind != JsonValueKind.Number) throw TypeError(field, "a number", e);
            return e.GetDouble();
        }

        public bool InitLoraWeights(string field, bool fallback)
        {
            if (!fields.TryGetValue(field, out var e)) return fallback;
            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.String => throw error(field, $"initialisation '{e.GetString()}' is not supported by this library (supported: true, false)"),
                _ => throw TypeError(field, "true, false or an initialisation name", e),
            };
        }

        /// <summary>PEFT's <c>Optional[Union[list[str], str]]</c>: (names, null), (null, string) or (null, null).</summary>
        public (IReadOnlyList<string>? Names, string? Regex) NamesOrRegex(string field)
        {
            if (!fields.TryGetValue(field, out var e) || e.ValueKind == JsonValueKind.Null) return (null, null);
            if (e.ValueKind == JsonValueKind.String) return (null, e.GetString());
            if (e.ValueKind != JsonValueKind.Array) throw TypeError(field, "a list of module names, a string or null", e);
            var names = new List<string>();
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String) throw TypeError($"{field}[{names.Count}]", "a string", item);
                names.Add(item.GetString()!);
            }
            return (names, null);
        }
    }
}
