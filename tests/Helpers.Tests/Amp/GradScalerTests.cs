using FineTuning.Amp;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Tests.Amp;

public class GradScalerTests
{
    [Fact]
    public void Defaults_Are_Torchs()
    {
        var scaler = new GradScaler();
        Assert.Equal(new GradScalerState(65536.0, 2.0, 0.5, 2000, 0), scaler.StateDict());
    }

    [Fact]
    public void A_Clean_Step_Unscales_The_Gradients_And_Steps_The_Optimizer()
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(tensor(new float[] { 1f, 2f }));
        var optimizer = torch.optim.SGD([p], 0.5);
        var scaler = new GradScaler(initScale: 1024);
        scaler.Scale((p * tensor(new float[] { 3f, 4f })).sum()).backward();
        Assert.Equal(new[] { 3072f, 4096f }, p.grad!.data<float>().ToArray()); // scaled
        scaler.Unscale([p]);
        Assert.Equal(new[] { 3f, 4f }, p.grad!.data<float>().ToArray());        // the true gradient
        Assert.False(scaler.FoundInf);
        Assert.True(scaler.Step(optimizer));
        scaler.Update();
        Assert.Equal(new[] { -0.5f, 0f }, p.data<float>().ToArray());
        Assert.Equal(1024, scaler.GetScale());
        Assert.Null(scaler.FoundInf);
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NaN)]
    public void A_Step_With_Inf_Or_NaN_Gradients_Is_Skipped_And_The_Scale_Backs_Off(float bad)
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(tensor(new float[] { 1f, 2f }));
        var q = new Parameter(tensor(new float[] { 5f }));
        var optimizer = torch.optim.SGD([p, q], 0.5);
        var scaler = new GradScaler(initScale: 8);
        scaler.Scale((p * tensor(new float[] { 1f, bad })).sum() + q.sum()).backward();
        Assert.False(scaler.Step(optimizer)); // unscales itself when Unscale was not called
        Assert.True(scaler.FoundInf);
        scaler.Update();
        Assert.Equal(new[] { 1f, 2f }, p.data<float>().ToArray()); // weights untouched
        Assert.Equal(new[] { 5f }, q.data<float>().ToArray());
        Assert.Equal(4, scaler.GetScale());
    }

    [Fact]
    public void The_Scale_Grows_After_GrowthInterval_Clean_Steps_In_A_Row_And_A_Skip_Resets_The_Count()
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(tensor(new float[] { 1f }));
        var optimizer = torch.optim.SGD([p], 0.0);
        var scaler = new GradScaler(initScale: 4, growthInterval: 3);
        void Step(float gradientFactor)
        {
            optimizer.zero_grad();
            scaler.Scale(p.sum() * gradientFactor).backward();
            scaler.Step(optimizer);
            scaler.Update();
        }
        Step(1); Step(1);
        Assert.Equal(4, scaler.GetScale());
        Step(float.PositiveInfinity);               // backs off to 2 and resets the count
        Assert.Equal(2, scaler.GetScale());
        Step(1); Step(1);
        Assert.Equal(2, scaler.GetScale());
        Step(1);                                    // the third clean step in a row
        Assert.Equal(4, scaler.GetScale());
        Assert.Equal(0, scaler.StateDict().GrowthTracker);
    }

    [Fact]
    public void State_Round_Trips_And_Misuse_Is_Reported()
    {
        var scaler = new GradScaler();
        scaler.LoadStateDict(scaler.StateDict() with { Scale = 512, GrowthTracker = 7 });
        Assert.Equal(new GradScalerState(512, 2.0, 0.5, 2000, 7), scaler.StateDict());
        Assert.Throws<InvalidOperationException>(() => scaler.Update());
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradScaler(initScale: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradScaler(backoffFactor: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => scaler.LoadStateDict(scaler.StateDict() with { Scale = double.NaN }));
    }
}
