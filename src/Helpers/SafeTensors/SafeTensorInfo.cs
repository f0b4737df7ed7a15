namespace FineTuning.SafeTensors;

/// <summary>
/// One header entry of a safetensors file. <see cref="DataStart"/> and <see cref="DataEnd"/> are the header's
/// <c>data_offsets</c>: byte offsets relative to the start of the data section (just after the header), end exclusive.
/// </summary>
/// <remarks>Shape is an array for TorchSharp's convenience; treat it as read-only.</remarks>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, long[] Shape, long DataStart, long DataEnd)
{
    /// <summary>Number of bytes the tensor occupies in the data section.</summary>
    public long ByteLength => DataEnd - DataStart;

    /// <summary>Number of elements (1 for a scalar, shape []).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n = checked(n * d);
            return n;
        }
    }
}
