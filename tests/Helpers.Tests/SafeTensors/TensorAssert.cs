using TorchSharp;

namespace FineTuning.Tests.SafeTensors;

static class TensorAssert
{
    /// <summary>Same dtype, same shape, same bytes: exact equality, NaN payloads and signed zeros included.</summary>
    public static void Identical(torch.Tensor expected, torch.Tensor actual, string? name = null)
    {
        Assert.True(expected.dtype == actual.dtype, $"{name}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.contiguous();
        using var a = actual.contiguous();
        Assert.True(e.numel() == 0 || e.bytes.SequenceEqual(a.bytes), $"{name}: values differ");
    }
}
