using System.Text.Json;
using FineTuning.Peft;

namespace FineTuning.Tests.Peft;

public class LoraConfigTests
{
    // Every key PEFT 0.19.1 writes in adapter_config.json (LoraConfig.to_dict() without runtime_config).
    static readonly string[] PeftKeys =
    [
        "alora_invocation_tokens", "alpha_pattern", "arrow_config", "auto_mapping", "base_model_name_or_path", "bias",
        "corda_config", "ensure_weight_tying", "eva_config", "exclude_modules", "fan_in_fan_out", "inference_mode",
        "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform", "loftq_config", "lora_alpha",
        "lora_bias", "lora_dropout", "lora_ga_config", "megatron_config", "megatron_core", "modules_to_save", "peft_type",
        "peft_version", "qalora_group_size", "r", "rank_pattern", "revision", "target_modules", "target_parameters",
        "task_type", "trainable_token_indices", "use_bdlora", "use_dora", "use_qalora", "use_rslora",
    ];

    [Fact]
    public void Defaults_Are_PEFTs()
    {
        var config = new LoraConfig();
        Assert.Equal(8, config.R);
        Assert.Equal(8, config.LoraAlpha);
        Assert.Equal(0, config.LoraDropout);
        Assert.Equal("none", config.Bias);
        Assert.Null(config.TargetModules);
        Assert.Null(config.ModulesToSave);
        Assert.Null(config.TaskType);
        Assert.True(config.InitLoraWeights);
        Assert.False(config.InferenceMode);
        Assert.Equal("LORA", config.PeftType);
        Assert.Equal(1.0, config.Scaling);
        Assert.Equal(16 / Math.Sqrt(4), (config with { R = 4, LoraAlpha = 16, UseRslora = true }).Scaling);
    }

    [Fact]
    public void Adapter_Config_Json_Has_PEFTs_Field_Names_Values_And_Layout()
    {
        var config = new LoraConfig
        {
            R = 4, LoraAlpha = 16, LoraDropout = 0.1, TargetModules = ["query", "value"], ModulesToSave = ["classifier"],
            TaskType = TaskType.SEQ_CLS, BaseModelNameOrPath = "bert-base-uncased",
        };
        var json = config.ToJson();
        using var doc = JsonDocument.Parse(json);
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(PeftKeys, keys); // all of them, sorted as json.dumps(sort_keys=True) sorts
        var root = doc.RootElement;
        Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
        Assert.Equal("SEQ_CLS", root.GetProperty("task_type").GetString());
        Assert.Equal(4, root.GetProperty("r").GetInt32());
        Assert.Equal("16", root.GetProperty("lora_alpha").GetRawText()); // Python int, as PEFT's default type
        Assert.Equal("0.1", root.GetProperty("lora_dropout").GetRawText());
        Assert.Equal("none", root.GetProperty("bias").GetString());
        Assert.Equal(["query", "value"], root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["classifier"], root.GetProperty("modules_to_save").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.True, root.GetProperty("init_lora_weights").ValueKind);
        Assert.Equal("{}", root.GetProperty("rank_pattern").GetRawText());
        Assert.Equal("megatron.core", root.GetProperty("megatron_core").GetString());
        // json.dumps(indent=2): two-space indent, ", "-free line ends, no trailing newline.
        Assert.StartsWith("{\n  \"alora_invocation_tokens\": null,\n  \"alpha_pattern\": {},\n", json);
        Assert.EndsWith("\n  \"use_rslora\": false\n}", json);
    }

    [Fact]
    public void Save_Then_Load_Gives_The_Same_Config()
    {
        using var folder = new TempFolder();
        var config = new LoraConfig
        {
            R = 16, LoraAlpha = 32, LoraDropout = 0.05, TargetModules = ["query", "key", "value"], ExcludeModules = ["pooler.dense"],
            Bias = "lora_only", UseRslora = true, ModulesToSave = ["classifier"], TaskType = TaskType.SEQ_CLS, Revision = "main",
        };
        config.SavePretrained(folder.Path);
        var loaded = LoraConfig.FromPretrained(folder.Path);
        Assert.Equal(config, loaded);
        Assert.Equal(config.ToJson(), loaded.ToJson());
        Assert.NotEqual(config, loaded with { TargetModules = ["query", "value", "key"] });
        Assert.Equal(["query", "key", "value"], loaded.TargetModules!);
        Assert.Equal(32, loaded.LoraAlpha);
        Assert.Empty(folder.TempFiles());

        var regex = config with { TargetModules = null, TargetModulesRegex = @".*layer\.0.*(query|value)" };
        Assert.Equal(regex.TargetModulesRegex, LoraConfig.FromJson(regex.ToJson()).TargetModulesRegex);
    }

    [Fact]
    public void Reads_An_Adapter_Config_Written_By_Python_PEFT()
    {
        // As PEFT 0.19.1 saves it for a BERT classifier (target_modules from a set, modules_to_save extended for SEQ_CLS).
        const string json = """
        {
          "alora_invocation_tokens": null, "alpha_pattern": {}, "arrow_config": null, "auto_mapping": null,
          "base_model_name_or_path": "bert-base-uncased", "bias": "none", "corda_config": null,
          "ensure_weight_tying": false, "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false,
          "inference_mode": true, "init_lora_weights": true, "layer_replication": null, "layers_pattern": null,
          "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 16, "lora_bias": false, "lora_dropout": 0.1,
          "lora_ga_config": null, "megatron_config": null, "megatron_core": "megatron.core",
          "modules_to_save": ["classifier", "classifier", "score"], "peft_type": "LORA", "peft_version": "0.19.1",
          "qalora_group_size": 16, "r": 8, "rank_pattern": {}, "revision": null, "target_modules": ["value", "query"],
          "target_parameters": null, "task_type": "SEQ_CLS", "trainable_token_indices": null, "use_bdlora": null,
          "use_dora": false, "use_qalora": false, "use_rslora": false
        }
        """;
        var config = LoraConfig.FromJson(json);
        Assert.Equal(8, config.R);
        Assert.Equal(16, config.LoraAlpha);
        Assert.Equal(0.1, config.LoraDropout);
        Assert.Equal(["value", "query"], config.TargetModules!);
        Assert.Equal(TaskType.SEQ_CLS, config.TaskType);
        Assert.True(config.InferenceMode);
        Assert.Equal("bert-base-uncased", config.BaseModelNameOrPath);
        // Older PEFT versions wrote fewer fields, and "all-linear" as a string.
        var old = LoraConfig.FromJson("""{"peft_type": "LORA", "r": 4, "target_modules": "all-linear", "lora_alpha": 8.0}""");
        Assert.Equal([LoraConfig.AllLinear], old.TargetModules!);
        Assert.Equal(8, old.LoraAlpha);
    }

    [Theory]
    [InlineData("""{"peft_type": "LORA", "r": 0}""", "r", "positive integer")]
    [InlineData("""{"peft_type": "LORA", "r": "8"}""", "r", "expected an integer")]
    [InlineData("""{"peft_type": "LORA", "lora_dropout": 1.5}""", "lora_dropout", "[0, 1)")]
    [InlineData("""{"peft_type": "LORA", "bias": "some"}""", "bias", "'none', 'all', 'lora_only'")]
    [InlineData("""{"peft_type": "LORA", "task_type": "TRANSLATE"}""", "task_type", "Invalid task type")]
    [InlineData("""{"peft_type": "LORA", "target_modules": [""]}""", "target_modules", "empty string")]
    [InlineData("""{"peft_type": "LORA", "target_modules": "(query"}""", "target_modules", "not a valid regular expression")]
    [InlineData("""{"peft_type": "LORA", "target_modules": 3}""", "target_modules", "a list of module names")]
    [InlineData("""{"peft_type": "LORA", "use_dora": true}""", "use_dora", "DoRA is not supported")]
    [InlineData("""{"peft_type": "LORA", "rank_pattern": {"query": 4}}""", "rank_pattern", "not supported")]
    [InlineData("""{"peft_type": "LORA", "init_lora_weights": "pissa"}""", "init_lora_weights", "'pissa' is not supported")]
    [InlineData("""{"peft_type": "PREFIX_TUNING"}""", "peft_type", "only LoRA adapters")]
    [InlineData("""{"r": 8}""", "peft_type", "missing")]
    public void Bad_Adapter_Configs_Fail_Naming_File_And_Field(string json, string field, string message)
    {
        var e = Assert.Throws<CheckpointException>(() => LoraConfig.FromJson(json, "some/adapter_config.json"));
        Assert.Equal("some/adapter_config.json", e.FilePath);
        Assert.Equal(field, e.Key);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Validate_Names_The_PEFT_Field()
    {
        static string Field(LoraConfig c) => Assert.Throws<ArgumentException>(c.Validate).ParamName!;
        Assert.Equal("r", Field(new LoraConfig { R = -1 }));
        Assert.Equal("lora_dropout", Field(new LoraConfig { LoraDropout = -0.1 }));
        Assert.Equal("lora_alpha", Field(new LoraConfig { LoraAlpha = double.NaN }));
        Assert.Equal("bias", Field(new LoraConfig { Bias = "None" }));
        Assert.Equal("task_type", Field(new LoraConfig { TaskType = "seq_cls" }));
        Assert.Equal("target_modules", Field(new LoraConfig { TargetModules = ["query"], TargetModulesRegex = "query" }));
        Assert.Equal("target_modules", Field(new LoraConfig { TargetModules = [] }));
        Assert.Equal("target_modules", Field(new LoraConfig { TargetModules = ["all-linear", "query"] }));
        Assert.Equal("modules_to_save", Field(new LoraConfig { ModulesToSave = ["classifier", ""] }));
        new LoraConfig { TargetModules = ["query"], Bias = "all", TaskType = TaskType.SEQ_CLS }.Validate();
    }

    [Fact]
    public void Missing_Folder_Or_File_Is_Named()
    {
        using var folder = new TempFolder();
        Assert.Contains("adapter_config.json not found", Assert.Throws<CheckpointException>(() => LoraConfig.FromPretrained(folder.Path)).Message);
        Assert.Throws<CheckpointException>(() => LoraConfig.FromPretrained(folder.File("nope")));
        folder.Write("adapter_config.json", "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<CheckpointException>(() => LoraConfig.FromPretrained(folder.Path)).Message);
    }
}
