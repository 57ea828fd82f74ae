# tests/gaps-records.sh: the bar records the gap tests load (store-gaps.test,
# store-gaps-pg.test): series with and without gaps, sourced after lib.sh.
# shellcheck shell=sh
RUN=20261201T000000Z-000001
B=1795996800000   # 2026-11-30T00:00Z
M=60000
H=3600000

# bars SOURCE SYMBOL ASSET_CLASS INTERVAL TS_MS...: one bar record per open time.
bars() {
	_src=$1 _sym=$2 _ac=$3 _iv=$4
	shift 4
	for _t; do printf '%s\n' "$_t"; done | jq -c --arg src "$_src" --arg sym "$_sym" \
	    --arg ac "$_ac" --arg iv "$_iv" '{type: "bar", source: $src, symbol: $sym,
	    asset_class: $ac, currency: "USD", exchange: "X", exchange_tz: "UTC", interval: $iv,
	    ts: (. / 1000 | strftime("%Y-%m-%dT%H:%M:%S.000Z")), ts_ms: ., session_date: null,
	    open: 1.5, high: 2, low: 1, close: 1.5, adj_close: null, volume: 10,
	    quote_volume: null, trades: null, prev_close: null, change: null, change_pct: null,
	    log_return: null, range_vol: null, rolling_vol: null, imputed: [],
	    run_id: "'$RUN'", fetched_at: "2026-12-01T00:00:00.000Z", schema_version: 1}'
}
# seq_ms FROM STEP COUNT: COUNT open times from FROM.
seq_ms() { awk -v f="$1" -v s="$2" -v n="$3" 'BEGIN { for (i = 0; i < n; i++) printf "%.0f\n", f + i * s }'; }

# shellcheck disable=SC2046 # the open times are meant to split
gaps_records() {
	# Whole: no gap.
	bars binance BTCUSDT crypto 1m $(seq_ms $B $M 50)
	# Starts late and ends early (beside BTCUSDT): nothing before the
	# first or after the last stored bar is a gap.
	bars binance LATE crypto 1m $(seq_ms $((B + 10 * M)) $M 20)
	# Two gaps: 3 bars (t3..t5) and 1 bar (t9).
	bars binance ETHUSDT crypto 1m $B $((B + M)) $((B + 2 * M)) $((B + 6 * M)) \
	    $((B + 7 * M)) $((B + 8 * M)) $((B + 10 * M))
	# Every other bar: 150 gaps of one bar.
	bars binance MANY crypto 1m $(seq_ms $B $((2 * M)) 151)
	# Exchange hours: not looked at here.
	bars yahoo AAPL equity 1m $B $((B + 30 * M)) $((B + 31 * M))
	# A Yahoo crypto series is: 9 hours missing.
	bars yahoo BTC-USD crypto 1h $B $((B + 10 * H))
	# Months have no fixed length: not looked at.
	bars binance BNBUSDT crypto 1mo 1788220800000 1796083200000
	# A symbol of SQL and quotes is data.
	bars binance "X'); DROP TABLE bars; --\"" crypto 1m $B $((B + 3 * M))
	# A daily series with one missing day.
	bars binance SOLUSDT crypto 1d $B $((B + 2 * 86400000))
}
