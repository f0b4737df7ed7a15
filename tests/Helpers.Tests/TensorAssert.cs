using System.Text.Json;
using static TorchSharp.torch;

namespace FineTuning.Tests;

/// <summary>Tensor comparisons for tests: exact (bytes) and numpy.allclose-style against reference numbers,
/// with messages that say where.</summary>
internal static class TensorAssert
{
    /// <summary>|actual - expected| ≤ atol + rtol·|expected| everywhere; reports the worst element.</summary>
    public static void Close(float[] expected, Tensor actual, string what, double rtol = 1e-5, double atol = 1e-6)
    {
        var got = actual.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        Assert.True(expected.Length == got.Length, $"{what}: {got.Length} values, expected {expected.Length}");
        double worst = 0; int at = -1;
        for (int i = 0; i < got.Length; i++)
        {
            double excess = Math.Abs(got[i] - expected[i]) - (atol + rtol * Math.Abs(expected[i]));
            if (excess > worst) { worst = excess; at = i; }
        }
        Assert.True(at < 0, at < 0 ? "" : $"{what}: element {at} is {got[at]:R}, expected {expected[at]:R} (rtol {rtol}, atol {atol})");
    }

    /// <summary><see cref="Close(float[], Tensor, string, double, double)"/> for two arrays.</summary>
    public static void Close(float[] expected, float[] actual, string what, double rtol = 1e-5, double atol = 1e-6)
    {
        using var t = tensor(actual);
        Close(expected, t, what, rtol, atol);
    }

    /// <summary>Same dtype, same shape, same bytes: exact equality, NaN payloads and signed zeros included.</summary>
    public static void Identical(Tensor expected, Tensor actual, string? name = null)
    {
        Assert.True(expected.dtype == actual.dtype, $"{name}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.contiguous();
        using var a = actual.contiguous();
        Assert.True(e.numel() == 0 || e.bytes.SequenceEqual(a.bytes), $"{name}: values differ");
    }

    /// <summary>Flattens a JSON number or (nested) array of numbers in row-major order.</summary>
    public static float[] Floats(JsonElement e)
    {
        var list = new List<float>();
        void Walk(JsonElement x)
        {
            if (x.ValueKind == JsonValueKind.Array) foreach (var c in x.EnumerateArray()) Walk(c);
            else list.Add(x.GetSingle());
        }
        Walk(e);
        return list.ToArray();
    }

    public static long[] Longs(JsonElement e)
    {
        var list = new List<long>();
        void Walk(JsonElement x)
        {
            if (x.ValueKind == JsonValueKind.Array) foreach (var c in x.EnumerateArray()) Walk(c);
            else list.Add(x.GetInt64());
        }
        Walk(e);
        return list.ToArray();
    }

    /// <summary>A (rows, cols) int64 tensor from a JSON array of arrays.</summary>
    public static Tensor LongMatrix(JsonElement e)
    {
        long rows = e.GetArrayLength(), cols = e[0].GetArrayLength();
        return tensor(Longs(e)).reshape(rows, cols);
    }
}
