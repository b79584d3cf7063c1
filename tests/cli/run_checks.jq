# The checks of final_state (run_checks.sh) in one program, so a check costs no process.
# Inputs: $st (status --json), $run, $out, $stored (events --json), $sandbox (the sandbox's
# authoritative log), $arts (artifacts --json), $wf (GET workflow), $disk (find: path TAB size),
# $sums (sha256sum), and the artifacts' provenance files as inputs.
# Prints tagged lines: E error, H artifact id TAB url TAB size, A artifact id, F final-state line.
def tsv_rows($text): $text | split("\n") | map(select(length > 0) | split("\t"));
def err($cond; $msg): if $cond then empty else "E\t" + $msg end;

($sandbox[0].events) as $log
| [tsv_rows($disk)[] | {key: .[0], value: (.[1] | tonumber)}] | from_entries as $sizes
| [$sums | split("\n")[] | select(length > 0) | capture("^(?<h>[0-9a-f]{64})  (?<p>.*)$") | {key: .p, value: .h}]
  | from_entries as $hashes
| [inputs | {key: input_filename, value: .}] | from_entries as $prov
| ($arts | map(.path)) as $paths
| ($wf[0].data.workflow.artifacts // []) as $remote
| [ err($st.status == "completed"; "run \($run) is not completed: \($st | tojson)"),
    err($st.artifacts == $st.artifactsDone and $st.artifacts > 0; "artifacts not all done: \($st | tojson)"),
    # The stored events are exactly the sandbox's log, in order, nothing twice.
    err($stored == $log; "stored events differ from the sandbox's log: \($stored | length) stored, \($log | length) in the log, first difference at \([range(0; [$stored, $log] | map(length) | max)] | map(select($stored[.] != $log[.])) | first // "none")"),
    err($st.events == ($log | length); "status counts \($st.events) events, the log has \($log | length)"),
    err(($arts | length) > 0; "no artifacts stored"),
    ($arts[] | select(.state != "done") | "E\tartifact \(.id) is \(.state), not done"),
    # Every artifact is on disk with the size and sha256 the store has, and a provenance file
    # beside it naming this run and these bytes.
    ($arts[] | . as $a
      | if $sizes[$a.path] == null then "E\tartifact file \($a.path) is missing"
        elif $sizes[$a.path] != $a.size then "E\t\($a.path) has \($sizes[$a.path]) bytes, the store says \($a.size)"
        elif $hashes[$a.path] != $a.sha256 then "E\t\($a.path): sha256 \($hashes[$a.path]), the store says \($a.sha256)"
        elif $prov[$a.path + ".provenance.json"] == null then "E\t\($a.path).provenance.json is missing"
        else $prov[$a.path + ".provenance.json"] as $p
          | err($p.run == $run and $p.size == $a.size and $p.sha256 == $a.sha256;
                "\($a.path).provenance.json does not match the store: \($p | {run, size, sha256} | tojson)")
        end),
    # Nothing else on disk: no temp file, nothing from another run.
    err(($sizes | keys) == ($paths + ($paths | map(. + ".provenance.json")) | sort);
        "\($out) holds other files than the \($paths | length) artifacts and their provenance: \($sizes | keys | join(" "))"),
    # The stored artifacts are the workflow's.
    err(($remote | map(.id) | sort) == ($arts | map(.id) | sort); "stored artifacts are not the workflow's"),
    ($remote[] | . as $r | "H\t\($r.id)\t\($r.url)\t\($arts | map(select(.id == $r.id)) | first | .size)")
  ] as $lines
| if ($lines | map(select(startswith("E\t"))) | length) > 0 then $lines[] | select(startswith("E\t"))
  else
    $lines[],
    ($arts[] | "A\t\(.id)"),
    # Across runs: the same layout; bytes too where the plan fixes the seed (only generate_image
    # takes one: the sandbox draws the others' per workflow).
    "F\t\($st | {status, events, cursor, artifacts, artifactsDone} | tojson)",
    ($stored[] | "F\t\({sequence, type, status, stepId: (.stepId // .data.stepId)} | tojson)"),
    ($arts[] | "F\t\({step, index, kind, state, path: (.path | ltrimstr($out + "/"))}
      + (if .step == "keyframe" then {size, sha256} else {} end) | tojson)")
  end
