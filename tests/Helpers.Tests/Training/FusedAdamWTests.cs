using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

public class FusedAdamWTests
{
    /// <summary>Two groups as HF builds them (decay 0.01 and 0), a matrix and a vector each, 3..5 random values.</summary>
    static (Parameter[] Params, AdamW.ParamGroup[] Groups) Setup(int seed, double lr = 1e-2)
    {
        manual_seed(seed);
        var ps = new[] { randn(3, 5), randn(5), randn(4, 3), randn(4) }.Select(t => new Parameter(t)).ToArray();
        return (ps, [new AdamW.ParamGroup(ps[..2], lr, 0.9, 0.999, 1e-8, 0.01), new AdamW.ParamGroup(ps[2..], lr, 0.9, 0.999, 1e-8, 0.0)]);
    }

    static void RunSteps(AdamW optimizer, Parameter[] ps, int steps, int gradSeed)
    {
        manual_seed(gradSeed);
        for (int s = 0; s < steps; s++)
        {
            foreach (var p in ps) p.grad = randn(p.shape);
            optimizer.step();
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Gives_The_Update_Of_Torch_AdamW(bool amsgrad, bool maximize)
    {
        var (a, groupsA) = Setup(1);
        var (b, groupsB) = Setup(1);
        using var plain = new AdamW(groupsA, 1e-2, 0.9, 0.999, 1e-8, 0.01, amsgrad, maximize);
        using var fused = new FusedAdamW(groupsB, 1e-2, 0.9, 0.999, 1e-8, 0.01, amsgrad, maximize);
        RunSteps(plain, a, 6, gradSeed: 7);
        RunSteps(fused, b, 6, gradSeed: 7);
        for (int i = 0; i < a.Length; i++)
        {
            // Same formula; the kernel forms the first moment as a lerp, so the last bits may differ (moments of
            // grads of magnitude ~1: an absolute 1e-7 is a few ulps).
            TensorAssert.Close(a[i].data<float>().ToArray(), b[i], $"parameter {i}", rtol: 1e-6, atol: 1e-7);
            var (sa, sb) = ((AdamW.State)plain.state_dict().State[i], (AdamW.State)fused.state_dict().State[i]);
            Assert.Equal(sa.step, sb.step);
            TensorAssert.Close(sa.exp_avg.data<float>().ToArray(), sb.exp_avg, $"exp_avg {i}", rtol: 1e-6, atol: 1e-7);
            TensorAssert.Close(sa.exp_avg_sq.data<float>().ToArray(), sb.exp_avg_sq, $"exp_avg_sq {i}", rtol: 1e-6, atol: 1e-7);
        }
    }

    [Fact]
    public void Follows_The_Learning_Rate_Set_On_Its_Groups_And_Skips_Parameters_Without_Gradients()
    {
        var (a, groupsA) = Setup(2);
        var (b, groupsB) = Setup(2);
        using var plain = new AdamW(groupsA, 1e-2);
        using var fused = new FusedAdamW(groupsB, 1e-2);
        foreach (var o in new AdamW[] { plain, fused })
            foreach (var g in o.ParamGroups) g.LearningRate = 3e-3; // what a scheduler does between steps
        manual_seed(3);
        var grads = new[] { randn(3, 5), randn(5) };
        for (int i = 0; i < 2; i++) { a[i].grad = grads[i].clone(); b[i].grad = grads[i].clone(); }
        using var before = b[3].detach().clone();
        plain.step();
        fused.step();
        for (int i = 0; i < 2; i++) TensorAssert.Close(a[i].data<float>().ToArray(), b[i], $"parameter {i}", rtol: 1e-6, atol: 1e-7);
        TensorAssert.Identical(before, b[3].detach(), "a parameter without a gradient");
        Assert.Equal([1L, 1L, 0L, 0L], fused.state_dict().State.Cast<AdamW.State>().Select(s => s.step));
    }

    [Fact]
    public void Is_HFs_Default_Optimizer_And_adamw_torch_Selects_The_Unfused_One()
    {
        using var module = nn.Linear(4, 2);
        using var byDefault = OptimizerFactory.CreateOptimizer(module, new TrainingArguments { OutputDir = "out" });
        using var unfused = OptimizerFactory.CreateOptimizer(module, new TrainingArguments { OutputDir = "out", Optim = "adamw_torch" });
        Assert.IsType<FusedAdamW>(byDefault);
        Assert.IsNotType<FusedAdamW>(unfused);
    }
}
