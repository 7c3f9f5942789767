# fish completion for kubectl-eidf and its stage executables.
function __kubectl_eidf_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l out ($tokens[1] __complete $tokens[2..-1] "$cur" 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    string match -qr '^[0-9]+$' -- $directive; or set directive 0
    set -e out[-1]
    if test (math "floor($directive / 1) % 2") -eq 1
        return
    end
    set -l prefix ''
    if string match -q -- '-*=*' $cur
        set prefix (string replace -r '=.*' '=' -- $cur)
        set cur (string replace -r '^[^=]*=' '' -- $cur)
    end
    if test (math "floor($directive / 16) % 2") -eq 1
        for d in (__fish_complete_directories $cur)
            echo $prefix$d
        end
        return
    end
    if test (count $out) -eq 0; and test (math "floor($directive / 4) % 2") -eq 0
        __fish_complete_path $cur
        return
    end
    for line in $out
        echo $prefix$line
    end
end
complete -c kubectl-eidf -f -a '(__kubectl_eidf_complete)'
complete -c kubectl-eidf-pvc -f -a '(__kubectl_eidf_complete)'
complete -c kubectl-eidf-fetch -f -a '(__kubectl_eidf_complete)'
complete -c kubectl-eidf-build_context -f -a '(__kubectl_eidf_complete)'
complete -c kubectl-eidf-devrun -f -a '(__kubectl_eidf_complete)'
