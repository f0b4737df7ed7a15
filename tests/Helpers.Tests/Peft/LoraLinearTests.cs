using FineTuning.Amp;
using FineTuning.Models;
using FineTuning.Peft;
using static TorchSharp.torch;

namespace FineTuning.Tests.Peft;

public class LoraLinearTests
{
    static Linear Base(int seed = 0)
    {
        manual_seed(seed);
        return new Linear(12, 6);
    }

    [Fact]
    public void Keys_Are_PEFTs_And_Shapes_Are_R_By_In_And_Out_By_R()
    {
        using var lora = new LoraLinear(Base(), r: 4, loraAlpha: 8);
        var sd = lora.state_dict();
        Assert.Equal(["base_layer.weight", "base_layer.bias", "lora_A.default.weight", "lora_B.default.weight"],
                     lora.named_parameters().Select(p => p.name));
        Assert.Equal(new long[] { 4, 12 }, sd["lora_A.default.weight"].shape);
        Assert.Equal(new long[] { 6, 4 }, sd["lora_B.default.weight"].shape);
        Assert.Equal(2.0, lora.Scaling);
    }

    [Fact]
    public void With_B_Zero_The_Output_Is_The_Base_Layers_Exactly()
    {
        using var baseLayer = Base();
        using var x = randn(3, 5, 12);
        using var expected = baseLayer.forward(x).detach();
        using var lora = new LoraLinear(baseLayer, r: 4, loraAlpha: 16);
        Assert.True(lora.LoraB.Weight.eq(0).all().item<bool>());
        Assert.False(lora.LoraA.Weight.eq(0).all().item<bool>());
        TensorAssert.Identical(expected, lora.forward(x).detach(), "output with B = 0");
    }

    [Fact]
    public void Initialisation_Draws_Random_Numbers_As_PEFTs_Update_Layer()
    {
        // PEFT: nn.Linear(in, r) and nn.Linear(r, out) are built (two Kaiming draws), then A is re-drawn Kaiming-uniform.
        using var baseLayer = Base();
        manual_seed(7);
        using var firstA = new Linear(12, 4, hasBias: false);
        using var firstB = new Linear(4, 6, hasBias: false);
        using var expectedA = empty(4, 12);
        nn.init.kaiming_uniform_(expectedA, a: Math.Sqrt(5));
        using var afterwards = rand(3);

        manual_seed(7);
        using var lora = new LoraLinear(baseLayer, r: 4, loraAlpha: 8);
        TensorAssert.Identical(expectedA, lora.LoraA.Weight.detach(), "lora_A");
        TensorAssert.Identical(afterwards, rand(3), "the generator after construction");
    }

    [Fact]
    public void Merge_Folds_Scaled_B_A_Into_The_Weight_And_Unmerge_Takes_It_Back()
    {
        using var baseLayer = Base();
        using var original = baseLayer.Weight.detach().clone();
        using var lora = new LoraLinear(baseLayer, r: 4, loraAlpha: 8, initLoraWeights: false); // B random too
        using var x = randn(7, 12);
        using var unmerged = lora.forward(x).detach();
        using var expectedDelta = lora.LoraB.Weight.detach().matmul(lora.LoraA.Weight.detach()) * 2.0; // (6, 12)

        lora.Merge();
        Assert.True(lora.Merged);
        TensorAssert.Close(original.add(expectedDelta).data<float>().ToArray(), baseLayer.Weight, "merged weight");
        TensorAssert.Close(unmerged.data<float>().ToArray(), lora.forward(x), "output after merge", rtol: 1e-5, atol: 1e-5);
        lora.Merge(); // a second merge does nothing
        TensorAssert.Close(original.add(expectedDelta).data<float>().ToArray(), baseLayer.Weight, "weight after a second merge");

        lora.Unmerge();
        Assert.False(lora.Merged);
        TensorAssert.Close(original.data<float>().ToArray(), baseLayer.Weight, "unmerged weight", rtol: 0, atol: 1e-6);
        TensorAssert.Close(unmerged.data<float>().ToArray(), lora.forward(x), "output after unmerge", rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void Dropout_Applies_To_The_Adapter_Input_Only_And_Disabled_Adapters_Give_The_Base()
    {
        using var baseLayer = Base();
        using var lora = new LoraLinear(baseLayer, r: 2, loraAlpha: 2, loraDropout: 0.5, initLoraWeights: false);
        using var x = randn(4, 12);
        using var baseOut = baseLayer.forward(x).detach();
        lora.eval();
        using var evalOut = lora.forward(x).detach();
        using var again = lora.forward(x).detach();
        TensorAssert.Identical(evalOut, again, "eval mode: no dropout");
        lora.train();
        Assert.False(evalOut.eq(lora.forward(x).detach()).all().item<bool>(), "training mode drops adapter inputs");
        lora.DisableAdapters = true;
        TensorAssert.Identical(baseOut, lora.forward(x).detach(), "disabled adapter");
    }

    [Fact]
    public void Under_Autocast_Both_Paths_Run_In_BFloat16()
    {
        using var lora = new LoraLinear(Base(), r: 4, loraAlpha: 8, initLoraWeights: false);
        using var x = randn(2, 3, 12);
        using var fp32 = lora.forward(x).detach();
        Tensor bf16;
        using (Autocast.Enable(ScalarType.BFloat16)) bf16 = lora.forward(x).detach();
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        TensorAssert.Close(fp32.data<float>().ToArray(), bf16, "bf16 vs fp32", rtol: 2e-2, atol: 2e-2);
        Assert.Equal(ScalarType.Float32, lora.LoraA.Weight.dtype); // master weights untouched
        bf16.Dispose();
    }
}
