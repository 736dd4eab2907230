using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The row hash of the store's protected tables: SHA-256 over the table name and each listed column's value as SQLite
/// returns it, in the listed order, each as a type tag (null, integer, real, text, blob) with its exact bytes (integers
/// and reals as 8 little-endian bytes, text as UTF-8 and blobs as they are, both length-prefixed), so no two different
/// rows encode alike. Not a MAC: it detects a changed byte (a flipped bit, a torn page, a stray edit), not an attacker
/// with write access, who can recompute it. A model version's parameters are covered by its model hash, not here.
/// Pure and thread-safe.
/// </summary>
internal static class RowHashes
{
    /// <summary>A protected table: its name, its hashed columns in order, and the columns that name a row.</summary>
    internal sealed record Table(string Name, IReadOnlyList<string> Columns, IReadOnlyList<string> KeyColumns)
    {
        /// <summary>The row's key ("round=3, attempt=1") from a reader positioned on it (columns as <see cref="Columns"/>).</summary>
        public string Key(SqliteDataReader r) => string.Join(", ", KeyColumns.Select(k =>
            string.Create(CultureInfo.InvariantCulture, $"{k}={r.GetValue(Columns.ToList().IndexOf(k))}")));
    }

    public static readonly Table Rounds = new("rounds",
        ["round", "attempt", "status", "plan_hash", "started_at", "ended_at", "participants", "contributors", "dropouts", "refused", "rejected",
         "accuracy", "loss", "model_hash_before", "model_hash_after", "abort_reason", "stage_counts", "ledger_draft", "ledger_appended", "kind",
         "metrics", "ledger_sequence", "ledger_entry_hash"],
        ["round", "attempt"]);

    public static readonly IReadOnlyList<Table> Tables =
    [
        new("model_versions", ["version", "round", "hash", "created_at", "optimizer_state"], ["version"]),
        Rounds,
        new("privacy_charges", ["round", "noise_multiplier", "sampling_rate", "steps", "survivors", "accountant", "delta", "epsilon", "pricing"], ["round"]),
        new("privacy_releases", ["round", "attempt", "task", "noise_multiplier", "survivors", "pricing"], ["round", "attempt", "task"]),
        new("pending_releases", ["round", "attempt", "task", "noise_multiplier", "survivors", "pricing"], ["round", "attempt", "task"]),
        new("statistics", ["id", "hash", "vector", "contributors"], ["id"]),
    ];

    /// <summary>The hash of the row <paramref name="r"/> is on, whose first columns are <paramref name="table"/>'s.</summary>
    public static string Compute(Table table, SqliteDataReader r)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Text(h, (byte)'T', table.Name);
        Span<byte> eight = stackalloc byte[8];
        for (var i = 0; i < table.Columns.Count; i++)
        {
            switch (r.GetValue(i))
            {
                case DBNull:
                    h.AppendData([(byte)'N']);
                    break;
                case long l:
                    h.AppendData([(byte)'I']);
                    BinaryPrimitives.WriteInt64LittleEndian(eight, l);
                    h.AppendData(eight);
                    break;
                case double d:
                    h.AppendData([(byte)'R']);
                    BinaryPrimitives.WriteInt64LittleEndian(eight, BitConverter.DoubleToInt64Bits(d));
                    h.AppendData(eight);
                    break;
                case string s:
                    Text(h, (byte)'S', s);
                    break;
                case byte[] b:
                    Bytes(h, (byte)'B', b);
                    break;
                case var other:
                    throw new InvalidOperationException($"column {table.Columns[i]} of {table.Name} read as {other.GetType().Name}");
            }
        }

        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    private static void Text(IncrementalHash h, byte tag, string value) => Bytes(h, tag, Encoding.UTF8.GetBytes(value));

    private static void Bytes(IncrementalHash h, byte tag, byte[] value)
    {
        Span<byte> length = stackalloc byte[9];
        length[0] = tag;
        BinaryPrimitives.WriteInt64LittleEndian(length[1..], value.Length);
        h.AppendData(length);
        h.AppendData(value);
    }
}
