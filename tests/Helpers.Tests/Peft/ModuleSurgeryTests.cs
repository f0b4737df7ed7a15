using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Peft;
using FineTuning.Tests.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Peft;

public class ModuleSurgeryTests
{
    [Fact]
    public void Named_Modules_Come_In_PyTorchs_Depth_First_Order()
    {
        using var model = TinyTraining.Model();
        var names = ModuleSurgery.NamedModulesPreOrder(model).Select(m => m.Name).ToList();
        // PyTorch: each module right before its children, children in declaration order.
        Assert.Equal(["bert", "bert.embeddings", "bert.embeddings.word_embeddings"], names.Take(3));
        var query = names.IndexOf("bert.encoder.layer.0.attention.self.query");
        Assert.Equal("bert.encoder.layer.0.attention.self", names[query - 1]);
        Assert.Equal("bert.encoder.layer.0.attention.self.key", names[query + 1]);
        Assert.True(names.IndexOf("bert.encoder.layer.0.output.LayerNorm") < names.IndexOf("bert.encoder.layer.1"));
        Assert.Equal(["bert.pooler", "bert.pooler.dense", "dropout", "classifier"], names.TakeLast(4));
    }

    [Fact]
    public void SetSubmodule_Replaces_Field_And_Registration_In_Place()
    {
        using var model = TinyTraining.Model();
        var before = model.named_parameters().Select(p => p.name).ToList();
        const string path = "bert.encoder.layer.0.attention.self.query";
        var old = (Linear)ModuleSurgery.GetSubmodule(model, path);
        var replacement = old.DeepCopy();
        using (no_grad()) replacement.Weight.zero_();

        Assert.Same(old, ModuleSurgery.SetSubmodule(model, path, replacement));

        Assert.Same(replacement, ModuleSurgery.GetSubmodule(model, path));
        Assert.Equal(before, model.named_parameters().Select(p => p.name)); // same names, same order
        Assert.True(model.state_dict()[$"{path}.weight"].eq(0).all().item<bool>());
        // The forward uses the new module: zero query weights change the logits.
        model.eval();
        using var ids = tensor(new long[,] { { 1, 5, 9, 2 } });
        using var zeroed = model.forward(ids).Logits.detach();
        ModuleSurgery.SetSubmodule(model, path, old);
        using var restored = model.forward(ids).Logits.detach();
        Assert.False(zeroed.eq(restored).all().item<bool>());
    }

    [Fact]
    public void SetSubmodule_Refuses_Unknown_Paths_Lists_And_Incompatible_Types()
    {
        using var model = TinyTraining.Model();
        Assert.Throws<ArgumentException>(() => ModuleSurgery.GetSubmodule(model, "bert.nothing"));
        Assert.Throws<ArgumentException>(() => ModuleSurgery.SetSubmodule(model, "bert.pooler.nothing", new Linear(2, 2)));
        // Encoder layers live in a ModuleList, not in fields named "0", "1".
        var list = Assert.Throws<InvalidOperationException>(() =>
            ModuleSurgery.SetSubmodule(model, "bert.encoder.layer.0", new BertLayer(model.Config)));
        Assert.Contains("not a field", list.Message);
        // The embeddings field is typed BertEmbeddings.
        var typed = Assert.Throws<InvalidOperationException>(() => ModuleSurgery.SetSubmodule(model, "bert.embeddings", new Linear(2, 2)));
        Assert.Contains("cannot hold a Linear", typed.Message);
    }
}
