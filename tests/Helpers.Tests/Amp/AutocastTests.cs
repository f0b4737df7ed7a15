using System.Text.Json;
using FineTuning.Amp;
using FineTuning.Models;
using static FineTuning.Tests.TensorAssert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Amp;

public class AutocastTests
{
    [Fact]
    public void Linear_Runs_In_The_Reduced_DType_Inside_A_Region_Only_And_Keeps_Fp32_Master_Weights()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var linear = new Linear(4, 3);
        var x = randn(2, 4);
        Assert.Null(Autocast.DType);
        Assert.Equal(ScalarType.Float32, linear.forward(x).dtype);
        Tensor y;
        using (Autocast.Enable(ScalarType.BFloat16))
        {
            Assert.True(Autocast.IsEnabled);
            y = linear.forward(x);
            Assert.Equal(ScalarType.BFloat16, y.dtype);
            using (Autocast.Enable(null)) Assert.Equal(ScalarType.Float32, linear.forward(x).dtype); // autocast(enabled=False)
            Assert.Equal(ScalarType.BFloat16, Autocast.DType);                                      // the outer region again
        }
        Assert.False(Autocast.IsEnabled);
        Assert.Equal(ScalarType.Float32, linear.Weight.dtype);

        // The cast is differentiable: fp32 gradients reach the fp32 weights.
        y.to_type(ScalarType.Float32).sum().backward();
        Assert.Equal(ScalarType.Float32, linear.Weight.grad!.dtype);
        Assert.Equal(ScalarType.Float32, linear.Bias!.grad!.dtype);
        Close(linear.forward(x).detach().data<float>().ToArray(), y.detach(), "bf16 linear", rtol: 2e-2, atol: 2e-2);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bf16_Gemm_Emulation_Gives_The_Native_Bf16_Results_And_Gradients(bool matmulToo)
    {
        // Emulated = fp32 GEMM over bf16-rounded operands, rounded to bf16: the rounding points of a native bf16 GEMM
        // with fp32 accumulation, so results differ by at most one bf16 rounding (summation order), never more.
        (Tensor Out, Tensor WeightGrad, Tensor InputGrad) Run(bool emulate)
        {
            bool saved = Autocast.EmulateBf16Gemm;
            Autocast.EmulateBf16Gemm = emulate;
            try
            {
                manual_seed(3);
                var linear = new Linear(64, 32);
                var x = randn(16, 64, requires_grad: true);
                Tensor y;
                using (Autocast.Enable(ScalarType.BFloat16))
                {
                    y = linear.forward(x);
                    if (matmulToo) y = Autocast.Matmul(y, y.transpose(0, 1));
                }
                Assert.Equal(ScalarType.BFloat16, y.dtype);
                y.to_type(ScalarType.Float32).pow(2).sum().backward();
                Assert.Equal(ScalarType.Float32, linear.Weight.grad!.dtype);
                return (y.detach().to_type(ScalarType.Float32), linear.Weight.grad!.detach().clone(), x.grad!.detach().clone());
            }
            finally
            {
                Autocast.EmulateBf16Gemm = saved;
            }
        }
        using var scope = NewDisposeScope();
        var native = Run(emulate: false);
        var emulated = Run(emulate: true);
        foreach (var (what, a, b) in new[] { ("output", native.Out, emulated.Out), ("weight gradient", native.WeightGrad, emulated.WeightGrad),
                                             ("input gradient", native.InputGrad, emulated.InputGrad) })
        {
            double scale = a.abs().max().item<float>();
            double worst = (a - b).abs().max().item<float>();
            Assert.True(worst <= scale / 128, $"{what}: emulated differs from native bf16 by {worst:E2} (largest value {scale:E2}; one bf16 step is {scale / 128:E2})");
        }
    }

    [Fact]
    public void Matmul_And_Cast_Follow_The_Region_And_Leave_Integer_Tensors_Alone()
    {
        using var scope = NewDisposeScope();
        var a = randn(2, 3);
        var b = randn(3, 2);
        var ids = ones(2, dtype: ScalarType.Int64);
        using (Autocast.Enable(ScalarType.Float16))
        {
            Assert.Equal(ScalarType.Float16, Autocast.Matmul(a, b).dtype);
            Assert.Equal(ScalarType.Float16, Autocast.Cast(a).dtype);
            Assert.Same(ids, Autocast.Cast(ids));
        }
        Assert.Equal(ScalarType.Float32, Autocast.Matmul(a, b).dtype);
        Assert.Same(a, Autocast.Cast(a));
    }

    [Fact]
    public void Only_Reduced_Float_Types_Are_Accepted()
    {
        var e = Assert.Throws<ArgumentException>(() => Autocast.Enable(ScalarType.Float64));
        Assert.Contains("BFloat16 and Float16", e.Message);
        Assert.False(Autocast.IsEnabled);
    }

    [Fact]
    public void Regions_Are_Per_Thread()
    {
        using var region = Autocast.Enable(ScalarType.BFloat16);
        ScalarType? seenElsewhere = ScalarType.Int8;
        var thread = new Thread(() => seenElsewhere = Autocast.DType);
        thread.Start();
        thread.Join();
        Assert.Null(seenElsewhere);
        Assert.Equal(ScalarType.BFloat16, Autocast.DType);
    }

    /// <summary>The bar: bf16 logits of the fixture model on MRPC dev 0..7 within 2e-2 of fp32 (relative to
    /// the logits' size), for both attention implementations; the loss stays fp32.</summary>
    [FixtureTheory("fixtures", "seqcls-model")]
    [InlineData("sdpa")]
    [InlineData("eager")]
    public void Bf16_Logits_Of_The_Fixture_Model_Are_Within_2e_2_Of_Fp32(string attnImplementation)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "forward_reference.json")));
        var r = json.RootElement;
        using var model = AutoModelForSequenceClassification.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"),
                                                                             attnImplementation: attnImplementation);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = LongMatrix(r.GetProperty("input_ids"));
        var types = LongMatrix(r.GetProperty("token_type_ids"));
        var mask = LongMatrix(r.GetProperty("attention_mask"));
        var labels = tensor(r.GetProperty("labels").EnumerateArray().Select(e => e.GetInt64()).ToArray());

        var fp32 = model.forward(ids, mask, types, labels);
        Assert.Equal(ScalarType.Float32, fp32.Logits.dtype);
        using (Autocast.Enable(ScalarType.BFloat16))
        {
            var bf16 = model.forward(ids, mask, types, labels);
            Assert.Equal(ScalarType.BFloat16, bf16.Logits.dtype);   // as under torch.autocast
            Assert.Equal(ScalarType.Float32, bf16.Loss!.dtype);     // losses in fp32
            double scale = fp32.Logits.abs().max().item<float>();
            var relative = (bf16.Logits.to_type(ScalarType.Float32) - fp32.Logits).abs().max().item<float>() / scale;
            Assert.True(relative < 2e-2, $"bf16 logits differ from fp32 by {relative:E2} of the largest logit ({scale:F4})");
            Assert.True(Math.Abs(bf16.Loss.item<float>() - fp32.Loss!.item<float>()) < 2e-2 * fp32.Loss.item<float>());
        }
    }
}
