using FineTuning.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Tests.SafeTensors;

public class SafeTensorsRoundTripTests
{
    static Tensor Sample(ScalarType type) => type switch
    {
        ScalarType.Bool => tensor(new[] { true, false, false, true, true, false }).reshape(2, 3),
        ScalarType.Byte => tensor(new byte[] { 0, 1, 127, 128, 254, 255 }).reshape(3, 2),
        ScalarType.Int8 => tensor(new sbyte[] { -128, -1, 0, 1, 127, 5 }).reshape(3, 2),
        ScalarType.Int16 => tensor(new short[] { short.MinValue, -1, 0, 1, short.MaxValue, 7 }).reshape(2, 3),
        ScalarType.Int32 => tensor(new[] { int.MinValue, -1, 0, 1, int.MaxValue, 9 }).reshape(2, 3),
        ScalarType.Int64 => tensor(new[] { long.MinValue, -1L, 0L, 1L, long.MaxValue, 1L << 40 }).reshape(1, 2, 3),
        ScalarType.Float64 => tensor(new[] { -0.0, 1e-310, double.MaxValue, double.NaN, double.NegativeInfinity, Math.PI }).reshape(2, 3),
        // F32 values that are not exact in F16/BF16, so a silent conversion anywhere would show.
        _ => tensor(new[] { -0.0f, 1.0f / 3, 65504f, float.NaN, float.PositiveInfinity, 1e-7f }).reshape(2, 3).to_type(type),
    };

    [Theory]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Int16)]
    [InlineData(ScalarType.Int8)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    public void RoundTrip_Preserves_DType_Shape_And_Exact_Values(ScalarType type)
    {
        using var dir = new TempFolder();
        using var original = Sample(type);
        var path = dir.File("t.safetensors");
        SafeTensorsWriter.Save(path, [("x", original)]);

        using var file = SafeTensorsFile.Open(path);
        Assert.True(SafeTensorDTypes.TryFromScalarType(type, out var dtype));
        Assert.Equal(dtype, file.Info("x").DType);
        using var loaded = file.Load("x");
        TensorAssert.Identical(original, loaded, type.ToString());
        Assert.Equal(DeviceType.CPU, loaded.device_type);
    }

    [Fact]
    public void RoundTrip_Float32_Values_Compare_Equal_Elementwise()
    {
        using var dir = new TempFolder();
        var values = new[] { 1.5f, -2.25f, 3.0e-8f, 123456.789f };
        using var original = tensor(values);
        SafeTensorsWriter.Save(dir.File("f.safetensors"), [("w", original)]);
        using var file = SafeTensorsFile.Open(dir.File("f.safetensors"));
        using var loaded = file.Load("w");
        Assert.Equal(values, loaded.data<float>().ToArray());
    }

    [Fact]
    public void Scalar_And_Zero_Element_Tensors_Round_Trip()
    {
        using var dir = new TempFolder();
        using var scalar = tensor(42.5f);
        using var empty1 = zeros(0, dtype: ScalarType.Int64);
        using var empty2 = zeros(new long[] { 3, 0, 2 }, dtype: ScalarType.Float16);
        var path = dir.File("s.safetensors");
        SafeTensorsWriter.Save(path, [("scalar", scalar), ("empty1", empty1), ("empty2", empty2)]);

        using var file = SafeTensorsFile.Open(path);
        Assert.Empty(file.Info("scalar").Shape);
        Assert.Equal(0, file.Info("empty1").ByteLength);
        using var s = file.Load("scalar");
        Assert.Equal(0, s.dim());
        Assert.Equal(42.5f, s.item<float>());
        using var e1 = file.Load("empty1");
        using var e2 = file.Load("empty2");
        TensorAssert.Identical(empty1, e1);
        TensorAssert.Identical(empty2, e2);
    }

    [Fact]
    public void NonContiguous_Tensor_Is_Saved_As_Its_Logical_Values()
    {
        using var dir = new TempFolder();
        using var baseTensor = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        using var transposed = baseTensor.t();
        Assert.False(transposed.is_contiguous());
        SafeTensorsWriter.Save(dir.File("t.safetensors"), [("t", transposed)]);
        using var file = SafeTensorsFile.Open(dir.File("t.safetensors"));
        using var loaded = file.Load("t");
        TensorAssert.Identical(transposed, loaded);
    }

    [Fact]
    public void Tensors_Larger_Than_One_Chunk_Load_And_Save_Correctly()
    {
        using var dir = new TempFolder();
        using var original = arange(1000, dtype: ScalarType.Int32).reshape(10, 100);
        var saved = TensorMemory.MaxChunkBytes;
        try
        {
            // 36 bytes is not a multiple of 4000 and not of the element size: exercises partial and rounded chunks.
            TensorMemory.MaxChunkBytes = 36;
            SafeTensorsWriter.Save(dir.File("c.safetensors"), [("c", original)]);
            using var file = SafeTensorsFile.Open(dir.File("c.safetensors"));
            using var loaded = file.Load("c");
            TensorAssert.Identical(original, loaded);
        }
        finally
        {
            TensorMemory.MaxChunkBytes = saved;
        }
    }

    [Fact]
    public void LoadAs_Converts_And_Metadata_Round_Trips()
    {
        using var dir = new TempFolder();
        using var original = tensor(new[] { 1f, 2f, 3f });
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo" };
        SafeTensorsWriter.Save(dir.File("m.safetensors"), [("v", original)], metadata);
        using var file = SafeTensorsFile.Open(dir.File("m.safetensors"));
        Assert.Equal(metadata, file.Metadata);
        using var asDouble = file.LoadAs("v", ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, asDouble.dtype);
        Assert.Equal(new[] { 1.0, 2.0, 3.0 }, asDouble.data<double>().ToArray());
    }

    [Fact]
    public void Loaded_Tensors_Outlive_The_File()
    {
        using var dir = new TempFolder();
        using var original = tensor(new[] { 7L, 8L });
        SafeTensorsWriter.Save(dir.File("o.safetensors"), [("o", original)]);
        Tensor loaded;
        using (var file = SafeTensorsFile.Open(dir.File("o.safetensors"))) loaded = file.Load("o");
        using (loaded) Assert.Equal(new[] { 7L, 8L }, loaded.data<long>().ToArray());
    }
}
