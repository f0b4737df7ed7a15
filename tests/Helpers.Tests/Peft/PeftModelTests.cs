using System.Text.Json;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Peft;
using FineTuning.SafeTensors;
using FineTuning.Tests.Training;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Peft;

/// <summary>get_peft_model on the tiny BERT classifier (hidden 32, 2 layers, 2 labels): structure, forward,
/// gradients, merge, PEFT's adapter files, and training with the Trainer.</summary>
public class PeftModelTests
{
    static readonly LoraConfig SeqCls = new() { TaskType = TaskType.SEQ_CLS, R = 8, LoraAlpha = 16, TargetModules = ["query", "value"] };

    static (Tensor Ids, Tensor Mask, Tensor Labels) Batch()
    {
        var ids = tensor(new long[,] { { 1, 5, 9, 7, 2, 0 }, { 1, 4, 4, 3, 8, 2 }, { 1, 12, 2, 0, 0, 0 } });
        var mask = ids.ne(0).to_type(ScalarType.Int64);
        mask[0, 0] = 1;
        return (ids, mask, tensor(new long[] { 1, 0, 0 }));
    }

    /// <summary>Gives every adapter matrix and the classifier copy random values, as training would.</summary>
    static void Perturb(PeftModel model, int seed)
    {
        manual_seed(seed);
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (p.requires_grad) p.add_(randn_like(p) * 0.05);
    }

    static string[] AdapterKeys(params string[] targets) =>
    [
        .. Enumerable.Range(0, 2).SelectMany(i => targets.SelectMany(t => new[] { "lora_A", "lora_B" }
            .Select(m => $"base_model.model.bert.encoder.layer.{i}.attention.self.{t}.{m}.weight"))),
        "base_model.model.classifier.weight", "base_model.model.classifier.bias",
    ];

    [Fact]
    public void The_Module_Tree_And_State_Dict_Keys_Are_PEFTs()
    {
        using var peft = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls);
        Assert.IsType<PeftModelForSequenceClassification>(peft);
        var keys = peft.state_dict().Keys.ToList();
        Assert.Equal("base_model.model.bert.embeddings.word_embeddings.weight", keys[0]);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.base_layer.weight", keys);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.base_layer.bias", keys);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.default.weight", keys);
        Assert.Contains("base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.default.weight", keys);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.key.weight", keys); // not targeted
        Assert.Contains("base_model.model.classifier.original_module.weight", keys);
        Assert.Contains("base_model.model.classifier.modules_to_save.default.bias", keys);
        Assert.DoesNotContain("base_model.model.classifier.weight", keys);
        Assert.Equal(["bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.0.attention.self.value",
                      "bert.encoder.layer.1.attention.self.query", "bert.encoder.layer.1.attention.self.value"],
                     peft.BaseModel.TargetedModuleNames);
        // PEFT adds the classifier head names to modules_to_save for SEQ_CLS.
        Assert.Equal(["classifier", "score"], peft.PeftConfig.ModulesToSave!);
    }

    [Fact]
    public void With_B_Zero_The_Forward_Equals_The_Base_Models_Exactly()
    {
        var model = TinyTraining.Model(seed: 3);
        model.eval();
        var (ids, mask, labels) = Batch();
        var before = model.forward(ids, mask, labels: labels);
        using var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(model, SeqCls);
        peft.eval();
        var after = peft.forward(ids, mask, labels: labels);
        TensorAssert.Identical(before.Logits.detach(), after.Logits.detach(), "logits");
        TensorAssert.Identical(before.Loss!.detach(), after.Loss!.detach(), "loss");
    }

    [Fact]
    public void Under_Autocast_The_Adapted_Model_Runs_In_BFloat16_With_An_FP32_Loss()
    {
        using var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(TinyTraining.Model(seed: 2), SeqCls);
        Perturb(peft, seed: 3);
        peft.eval();
        var (ids, mask, labels) = Batch();
        var fp32 = peft.forward(ids, mask, labels: labels);
        SequenceClassifierOutput bf16;
        using (FineTuning.Amp.Autocast.Enable(ScalarType.BFloat16)) bf16 = peft.forward(ids, mask, labels: labels);
        Assert.Equal(ScalarType.BFloat16, bf16.Logits.dtype);
        Assert.Equal(ScalarType.Float32, bf16.Loss!.dtype);
        TensorAssert.Close(fp32.Logits.detach().data<float>().ToArray(), bf16.Logits, "bf16 logits", rtol: 5e-2, atol: 5e-2);
    }

    [Fact]
    public void Gradients_Reach_Only_A_B_And_The_Modules_To_Save()
    {
        using var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls);
        var (ids, mask, labels) = Batch();
        void Check(bool bIsZero)
        {
            peft.zero_grad();
            peft.forward(ids, mask, labels: labels).Loss!.backward();
            foreach (var (name, p) in peft.named_parameters())
            {
                var adapter = name.Contains(".lora_A.default.") || name.Contains(".lora_B.default.") || name.Contains(".modules_to_save.default.");
                Assert.True(adapter == p.requires_grad, $"{name}: requires_grad {p.requires_grad}");
                var grad = p.grad;
                if (!adapter) { Assert.True(grad is null, $"{name} got a gradient"); continue; }
                Assert.True(grad is not null, $"{name} got no gradient");
                // dL/dA = scaling·Bᵀ·(dL/dy)·x: exactly zero while B is (LoRA's first step moves B only).
                var zero = bIsZero && name.Contains(".lora_A.");
                Assert.True(zero == (grad.abs().sum().item<float>() == 0), $"{name}: gradient {(zero ? "should be zero" : "is zero")}");
            }
        }
        Check(bIsZero: true);
        Perturb(peft, seed: 2);
        Check(bIsZero: false);
    }

    [Fact]
    public void PrintTrainableParameters_Uses_PEFTs_Format()
    {
        using var plain = TinyTraining.Model();
        long baseCount = plain.parameters().Sum(p => p.numel());
        using var peft = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls);
        long lora = 4 * 8 * (32 + 32);        // 4 targets × r·(in + out)
        long classifier = 32 * 2 + 2;          // the trained copy of Linear(32, 2)
        Assert.Equal((lora + classifier, baseCount + lora + classifier), peft.GetNbTrainableParameters());

        var writer = new StringWriter();
        peft.PrintTrainableParameters(writer);
        long all = baseCount + lora + classifier;
        var percent = (100.0 * (lora + classifier) / all).ToString("F4", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"trainable params: 2,114 || all params: {all.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} || trainable%: {percent}",
                     writer.ToString().TrimEnd());
        Assert.Matches(@"^trainable params: 2,114 \|\| all params: \d{1,3}(,\d{3})+ \|\| trainable%: \d+\.\d{4}$", writer.ToString().TrimEnd());
    }

    [Fact]
    public void PrintTrainableParameters_On_Bert_Base_Gives_PEFTs_Numbers()
    {
        // bert-base-uncased with a 2-label head has 109,483,778 parameters; r = 8 on query and value adds 12 × 2 × 8 ×
        // (768 + 768) = 294,912, and the classifier copy 1,538.
        manual_seed(0);
        using var peft = PeftMapping.GetPeftModel(new BertForSequenceClassification(new BertConfig().WithNumLabels(2)),
                                                  new LoraConfig { TaskType = TaskType.SEQ_CLS });
        var writer = new StringWriter();
        peft.PrintTrainableParameters(writer);
        Assert.Equal("trainable params: 296,450 || all params: 109,780,228 || trainable%: 0.2700", writer.ToString().TrimEnd());
    }

    [Fact]
    public void MergeAndUnload_Returns_A_Plain_Model_With_The_Same_Outputs()
    {
        using var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(TinyTraining.Model(seed: 1), SeqCls);
        Perturb(peft, seed: 11);
        peft.eval();
        var (ids, mask, labels) = Batch();
        using var expected = peft.forward(ids, mask, labels: labels).Logits.detach();

        using var merged = Assert.IsType<BertForSequenceClassification>(peft.MergeAndUnload());
        Assert.DoesNotContain(merged.modules(), m => m is LoraLinear or ModulesToSaveWrapper);
        Assert.Empty(peft.parameters());                                      // the PEFT model let go of it
        Assert.Throws<InvalidOperationException>(() => peft.GetBaseModel());
        using var plain = TinyTraining.Model();
        Assert.Equal(plain.state_dict().Keys, merged.state_dict().Keys); // classifier.weight, ...query.weight again
        merged.eval();
        TensorAssert.Close(expected.data<float>().ToArray(), merged.forward(ids, mask).Logits, "merged logits", rtol: 1e-5, atol: 1e-5);
        // It saves as a full checkpoint that loads as a plain model with the same outputs.
        using var folder = new TempFolder();
        merged.SavePretrained(folder.Path);
        using var reloaded = BertForSequenceClassification.FromPretrained(folder.Path, merged.Config);
        TensorAssert.Close(expected.data<float>().ToArray(), reloaded.forward(ids, mask).Logits, "reloaded merged logits", rtol: 1e-5, atol: 1e-5);
    }

    [Fact]
    public void MergeAdapter_And_UnmergeAdapter_Keep_The_Outputs_And_DisableAdapter_Gives_The_Base_Model()
    {
        var model = TinyTraining.Model(seed: 4);
        model.eval();
        var (ids, mask, _) = Batch();
        using var baseLogits = model.forward(ids, mask).Logits.detach();
        using var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(model, SeqCls);
        Perturb(peft, seed: 5);
        peft.eval();
        using var adapted = peft.forward(ids, mask).Logits.detach();
        Assert.False(adapted.allclose(baseLogits));

        peft.MergeAdapter();
        TensorAssert.Close(adapted.data<float>().ToArray(), peft.forward(ids, mask).Logits, "merged", rtol: 1e-5, atol: 1e-5);
        peft.UnmergeAdapter();
        TensorAssert.Close(adapted.data<float>().ToArray(), peft.forward(ids, mask).Logits, "unmerged", rtol: 1e-5, atol: 1e-5);
        using (peft.DisableAdapter())
            TensorAssert.Close(baseLogits.data<float>().ToArray(), peft.forward(ids, mask).Logits, "adapters disabled", rtol: 1e-6, atol: 1e-6);
        TensorAssert.Close(adapted.data<float>().ToArray(), peft.forward(ids, mask).Logits, "enabled again", rtol: 1e-5, atol: 1e-5);
    }

    [Fact]
    public void SavePretrained_Writes_PEFTs_Adapter_Files_And_Keys()
    {
        using var folder = new TempFolder();
        using var peft = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls);
        peft.SavePretrained(folder.Path);

        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"],
                     Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order());
        using (var file = SafeTensorsFile.Open(folder.File("adapter_model.safetensors")))
        {
            Assert.Equal(AdapterKeys("query", "value").Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
            Assert.Equal("pt", file.Metadata!["format"]);
            Assert.Equal([8L, 32L], file.Info("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight").Shape);
            Assert.Equal([32L, 8L], file.Info("base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight").Shape);
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(folder.File("adapter_config.json")));
        var config = doc.RootElement;
        Assert.Equal("LORA", config.GetProperty("peft_type").GetString());
        Assert.Equal("SEQ_CLS", config.GetProperty("task_type").GetString());
        Assert.True(config.GetProperty("inference_mode").GetBoolean()); // PEFT saves inference_mode true
        Assert.Equal(["query", "value"], config.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["classifier", "score"], config.GetProperty("modules_to_save").EnumerateArray().Select(e => e.GetString()));
        Assert.False(peft.PeftConfig.InferenceMode); // the live model stays trainable
        Assert.Empty(folder.TempFiles());
    }

    [Fact]
    public void Save_Then_FromPretrained_Restores_The_Same_Outputs_Frozen_And_In_Eval_Mode()
    {
        using var folder = new TempFolder();
        var (ids, mask, _) = Batch();
        Tensor expected;
        using (var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(TinyTraining.Model(seed: 6), SeqCls))
        {
            Perturb(peft, seed: 8);
            peft.eval();
            expected = peft.forward(ids, mask).Logits.detach();
            peft.SavePretrained(folder.Path);
        }
        using var loaded = Assert.IsType<PeftModelForSequenceClassification>(PeftModel.FromPretrained(TinyTraining.Model(seed: 6), folder.Path));
        Assert.False(loaded.training);
        Assert.Equal(0, loaded.GetNbTrainableParameters().Trainable);
        TensorAssert.Identical(expected, loaded.forward(ids, mask).Logits.detach(), "logits after save → load");

        using var trainable = PeftModel.FromPretrained(TinyTraining.Model(seed: 6), folder.Path, isTrainable: true);
        Assert.Equal(4 * 8 * 64 + 66, trainable.GetNbTrainableParameters().Trainable);
        expected.Dispose();
    }

    [Fact]
    public void Loading_A_Foreign_Or_Broken_Adapter_Fails_Naming_File_And_Key()
    {
        using var folder = new TempFolder();
        using (var peft = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls)) peft.SavePretrained(folder.Path);
        var weights = folder.File("adapter_model.safetensors");

        // More target modules: the file lacks the key adapters.
        var keyConfig = SeqCls with { TargetModules = ["query", "key", "value"] };
        using (var other = PeftMapping.GetPeftModel(TinyTraining.Model(), keyConfig))
        {
            var e = Assert.Throws<CheckpointException>(() => other.LoadAdapter(folder.Path));
            Assert.Equal(weights, e.FilePath);
            Assert.Contains("lacks", e.Message);
            Assert.Contains("attention.self.key.lora_A.weight", e.Key);
        }
        // Another rank: shapes differ.
        using (var other = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { R = 4 }))
            Assert.Contains("has shape [8, 32] in the adapter, [4, 32] in the model",
                            Assert.Throws<CheckpointException>(() => other.LoadAdapter(folder.Path)).Message);
        // Fewer targets than the file: unexpected weights.
        using (var other = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { TargetModules = ["query"] }))
            Assert.Contains("weights this model does not", Assert.Throws<CheckpointException>(() => other.LoadAdapter(folder.Path)).Message);
        // A pickled adapter is refused, not unpickled.
        File.Move(weights, folder.File("adapter_model.bin"));
        using (var other = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls))
            Assert.Contains("pickle", Assert.Throws<CheckpointException>(() => other.LoadAdapter(folder.Path)).Message);
        Assert.Throws<CheckpointException>(() => PeftModel.FromPretrained(TinyTraining.Model(), folder.File("missing")));
    }

    [Fact]
    public void Bias_All_And_Lora_Only_Train_And_Save_Their_Biases()
    {
        using var all = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { Bias = "all" });
        var trainable = all.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Contains("base_model.model.bert.embeddings.LayerNorm.bias", trainable);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.key.bias", trainable);
        Assert.DoesNotContain("base_model.model.classifier.original_module.bias", trainable);
        var saved = all.GetPeftModelStateDict().Keys.ToList();
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.base_layer.bias", saved);
        Assert.Contains("base_model.model.bert.pooler.dense.bias", saved);
        Assert.Contains("base_model.model.classifier.bias", saved);
        Assert.DoesNotContain(saved, k => k.Contains("original_module") || k.Contains("modules_to_save"));

        using var loraOnly = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { Bias = "lora_only" });
        var biases = loraOnly.named_parameters().Where(p => p.parameter.requires_grad && p.name.EndsWith("bias")).Select(p => p.name).ToList();
        Assert.Equal(["base_model.model.bert.encoder.layer.0.attention.self.query.base_layer.bias",
                      "base_model.model.bert.encoder.layer.0.attention.self.value.base_layer.bias",
                      "base_model.model.bert.encoder.layer.1.attention.self.query.base_layer.bias",
                      "base_model.model.bert.encoder.layer.1.attention.self.value.base_layer.bias",
                      "base_model.model.classifier.modules_to_save.default.bias"], biases);
        Assert.Equal(AdapterKeys("query", "value").Length + 4, loraOnly.GetPeftModelStateDict().Count);
    }

    [Fact]
    public void Target_Modules_By_Name_Regex_Exclusion_And_All_Linear()
    {
        static IReadOnlyList<string> Targets(LoraConfig config)
        {
            using var peft = PeftMapping.GetPeftModel(TinyTraining.Model(), config);
            return peft.BaseModel.TargetedModuleNames;
        }
        Assert.Equal(["bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.0.attention.self.value"],
                     Targets(SeqCls with { TargetModules = null, TargetModulesRegex = @".*layer\.0\.attention\.self\.(query|value)" }));
        Assert.Equal(["bert.encoder.layer.1.attention.self.query", "bert.encoder.layer.1.attention.self.value"],
                     Targets(SeqCls with { ExcludeModules = ["layer.0.attention.self.query", "layer.0.attention.self.value"] }));
        var allLinear = Targets(SeqCls with { TargetModules = [LoraConfig.AllLinear] });
        Assert.Equal(2 * 6 + 1, allLinear.Count); // q, k, v, attention.output.dense, intermediate.dense, output.dense; pooler
        Assert.DoesNotContain("classifier", allLinear);
        // No config target modules: PEFT's default for BERT.
        Assert.Equal(4, Targets(SeqCls with { TargetModules = null }).Count);
        using (var peft = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { TargetModules = null }))
            Assert.Equal(["query", "value"], peft.PeftConfig.TargetModules!);
    }

    [Fact]
    public void Bad_Targets_And_Task_Types_Fail_Clearly()
    {
        var notFound = Assert.Throws<ArgumentException>(() => PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { TargetModules = ["q_proj", "v_proj"] }));
        Assert.Contains("Target modules {'q_proj', 'v_proj'} not found in the base model", notFound.Message);
        var layerNorm = Assert.Throws<ArgumentException>(() => PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { TargetModules = ["LayerNorm"] }));
        Assert.Contains("is not supported", layerNorm.Message);
        Assert.Throws<NotSupportedException>(() => PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { TaskType = TaskType.CAUSAL_LM }));
        Assert.Contains("no module named 'head'", Assert.Throws<ArgumentException>(() =>
            PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { TaskType = null, ModulesToSave = ["head"] })).Message);
        Assert.Equal("r", Assert.Throws<ArgumentException>(() => PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls with { R = 0 })).ParamName);
        var model = TinyTraining.Model();
        using var peft = PeftMapping.GetPeftModel(model, SeqCls);
        Assert.Contains("already has PEFT adapters", Assert.Throws<ArgumentException>(() => PeftMapping.GetPeftModel(model, SeqCls)).Message);
    }

    [Fact]
    public void A_Bare_BertModel_Gets_Adapters_As_A_Plain_PeftModel()
    {
        manual_seed(0);
        var bert = new BertModel(TinyTraining.Model().Config);
        using var peft = PeftMapping.GetPeftModel(bert, new LoraConfig());
        Assert.Equal(typeof(PeftModel), peft.GetType());
        Assert.Equal(4, peft.BaseModel.TargetedModuleNames.Count);
        Assert.Equal(4 * 8 * 64, peft.GetNbTrainableParameters().Trainable);
        Assert.Throws<InvalidOperationException>(() => peft.ForwardArgumentNames);
    }

    [Fact]
    public void The_Optimizer_Gets_Only_Trainable_Parameters_And_Its_State_Shrinks_Accordingly()
    {
        using var folder = new TempFolder();
        var args = TinyTraining.Args(folder.Path);
        var (ids, mask, labels) = Batch();
        long StateBytesAfterOneStep(nn.Module model, ITrainableModel forward, out int parameterCount)
        {
            using var optimizer = OptimizerFactory.CreateOptimizer(model, args);
            parameterCount = optimizer.ParamGroups.Cast<TorchSharp.Modules.ParamGroup>().Sum(g => g.Parameters.Count());
            forward.Forward(new Dictionary<string, Tensor> { ["input_ids"] = ids, ["attention_mask"] = mask, ["labels"] = labels }).Loss!.backward();
            optimizer.step();
            return OptimizerFactory.StateSizeInBytes(optimizer);
        }

        using var full = TinyTraining.Model();
        long fullBytes = StateBytesAfterOneStep(full, full, out var fullCount);
        Assert.Equal(full.parameters().Count(), fullCount);
        Assert.Equal(2 * 4 * full.parameters().Sum(p => p.numel()), fullBytes); // exp_avg + exp_avg_sq, fp32

        using var peft = PeftMapping.GetPeftModel(TinyTraining.Model(), SeqCls);
        long loraBytes = StateBytesAfterOneStep(peft, peft, out var loraCount);
        Assert.Equal(8 + 2, loraCount); // 4 × (A, B) + classifier weight and bias
        Assert.Equal(2 * 4 * peft.GetNbTrainableParameters().Trainable, loraBytes);
        Assert.True(loraBytes * 5 < fullBytes, $"LoRA optimizer state {loraBytes} B vs full {fullBytes} B");
        var (decay, noDecay) = OptimizerFactory.DecayParameterNames(peft);
        Assert.All(decay.Concat(noDecay), n => Assert.True(n.Contains("lora_") || n.Contains("modules_to_save"), n));
        Assert.Equal(["base_model.model.classifier.modules_to_save.default.bias"], noDecay);
    }

    [Fact]
    public void The_Trainer_Lowers_The_Loss_Training_Only_The_Adapter()
    {
        using var folder = new TempFolder();
        var train = TinyTraining.MarkerTask(32, seed: 3);
        var model = TinyTraining.Model(seed: 1);
        var frozenBefore = TinyTraining.Weights(model);
        using var peft = PeftMapping.GetPeftModel(model, SeqCls with { TargetModules = [LoraConfig.AllLinear] });
        var trainer = new Trainer(peft, TinyTraining.Args(folder.Path) with { NumTrainEpochs = 10, LearningRate = 2e-2 }, train);
        trainer.Train();

        var losses = TinyTraining.Losses(trainer.State);
        Assert.Equal(20, losses.Length);
        Assert.True(losses.TakeLast(4).Average() < losses.Take(4).Average() - 0.05,
                    $"loss went from {losses.Take(4).Average():F4} to {losses.TakeLast(4).Average():F4}");
        // The frozen base (every weight but the classifier) is untouched; the adapters moved.
        var merged = TinyTraining.Weights(peft.GetBaseModel());
        var targeted = peft.BaseModel.TargetedModuleNames.ToHashSet();
        foreach (var (name, values) in frozenBefore.Where(kv => !kv.Key.StartsWith("classifier")))
        {
            var cut = name.LastIndexOf('.');
            var live = targeted.Contains(name[..cut]) ? $"{name[..cut]}.base_layer{name[cut..]}" : name;
            Assert.True(values.SequenceEqual(merged[live]), $"{name} changed");
        }
        Assert.Contains(merged["bert.encoder.layer.0.attention.self.query.lora_B.default.weight"], v => v != 0);
    }

    [Fact]
    public void Trainer_Checkpoints_Hold_The_Adapter_And_Resume_Bit_For_Bit()
    {
        using var straightDir = new TempFolder();
        using var resumedDir = new TempFolder();
        var train = TinyTraining.MarkerTask(64, seed: 5);
        TrainingArguments Args(string dir) => TinyTraining.Args(dir) with
        {
            NumTrainEpochs = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 4, LearningRate = 5e-3, WeightDecay = 0.01,
        };
        PeftModel NewPeft() => PeftMapping.GetPeftModel(TinyTraining.Model(seed: 2, dropout: 0.1), SeqCls with { LoraDropout = 0.1 });

        using var straight = NewPeft();
        new Trainer(straight, Args(straightDir.Path), train).Train();
        var checkpoint = Path.Combine(straightDir.Path, "checkpoint-4");
        Assert.True(File.Exists(Path.Combine(checkpoint, "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(checkpoint, "adapter_config.json")));
        Assert.False(File.Exists(Path.Combine(checkpoint, "model.safetensors")));

        // Resume the same run from checkpoint-4 in another folder: the adapter, optimizer and RNG come from there.
        Directory.CreateDirectory(Path.Combine(resumedDir.Path, "checkpoint-4"));
        foreach (var file in Directory.GetFiles(checkpoint)) File.Copy(file, Path.Combine(resumedDir.Path, "checkpoint-4", Path.GetFileName(file)));
        using var resumed = NewPeft();
        Perturb(resumed, seed: 1); // other adapter weights: they must come from the checkpoint
        new Trainer(resumed, Args(resumedDir.Path), train).Train(resumeFromCheckpoint: true);
        var expected = TinyTraining.Weights(straight);
        foreach (var (name, values) in TinyTraining.Weights(resumed))
            Assert.True(values.SequenceEqual(expected[name]), $"{name} differs after resuming");
    }
}

/// <summary>The lesson's flow on a real checkpoint: head swap, LoRA, save the adapter, load it on a fresh head swap.</summary>
public class PeftPretrainedTests
{
    [FixtureFact("fixtures", "pretrained-tiny")]
    public void An_Adapter_Saved_From_A_Head_Swapped_Checkpoint_Reloads_Onto_A_Fresh_Head_Swap()
    {
        var folder = SharedFixtures.Path("fixtures", "pretrained-tiny");
        using var adapterDir = new TempFolder();
        using var ids = tensor(new long[,] { { 101, 7592, 2088, 102, 2023, 2003, 102 } });
        var config = new LoraConfig { TaskType = TaskType.SEQ_CLS, R = 4, LoraAlpha = 8 };

        manual_seed(42);
        var model = AutoModelForSequenceClassification.FromPretrained(folder, numLabels: 2);
        using var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(model, config);
        Assert.Equal(["query", "value"], peft.PeftConfig.TargetModules!); // PEFT's default for bert
        manual_seed(1);
        using (no_grad())
            foreach (var (_, p) in peft.named_parameters())
                if (p.requires_grad) p.add_(randn_like(p) * 0.05);
        peft.eval();
        using var expected = peft.forward(ids).Logits.detach();
        peft.SavePretrained(adapterDir.Path);
        // PEFT records the base model as its config's _name_or_path: what FromPretrained was given.
        Assert.Equal(folder, LoraConfig.FromPretrained(adapterDir.Path).BaseModelNameOrPath);

        manual_seed(7); // another random classifier: the adapter's copy must replace it
        using var loaded = (PeftModelForSequenceClassification)PeftModel.FromPretrained(
            AutoModelForSequenceClassification.FromPretrained(folder, numLabels: 2), adapterDir.Path);
        TensorAssert.Identical(expected, loaded.forward(ids).Logits.detach(), "logits of the reloaded adapter");
        using var file = SafeTensorsFile.Open(Path.Combine(adapterDir.Path, "adapter_model.safetensors"));
        Assert.Equal(2 * 2 * 2 + 2, file.Names.Count);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", file.Names);
        Assert.Contains("base_model.model.classifier.weight", file.Names);
    }
}
