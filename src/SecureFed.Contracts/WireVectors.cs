using System.Collections;
using Google.Protobuf.Collections;

namespace SecureFed.Contracts;

/// <summary>
/// Fills the packed vector fields of chunk messages (<c>ModelChunk.values</c>, <c>UpdateChunk.values</c>) from a slice
/// of a vector with one bulk copy, where <c>values.AddRange(slice.ToArray())</c> copies twice. Stateless, thread-safe.
/// </summary>
public static class WireVectors
{
    /// <summary>Appends <paramref name="values"/> to <paramref name="field"/>: one block copy into its storage.</summary>
    public static void Append<T>(RepeatedField<T> field, ReadOnlyMemory<T> values)
        where T : struct
    {
        ArgumentNullException.ThrowIfNull(field);
        // RepeatedField.AddRange grows once and asks a non-generic ICollection to copy itself into its array.
        field.AddRange(new Slice<T>(values));
    }

    private sealed class Slice<T>(ReadOnlyMemory<T> values) : ICollection, IEnumerable<T>
        where T : struct
    {
        public int Count => values.Length;

        public bool IsSynchronized => false;

        public object SyncRoot => this;

        public void CopyTo(Array array, int index) => values.Span.CopyTo(((T[])array).AsSpan(index));

        public IEnumerator<T> GetEnumerator()
        {
            for (int i = 0; i < values.Length; i++)
            {
                yield return values.Span[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
